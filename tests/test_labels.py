"""The label file: what it keeps, how it is shared, and that concurrent writers lose nothing."""

from __future__ import annotations

import json
import multiprocessing
import threading
from pathlib import Path

import pytest

from foundation.errors import LabelError
from foundation.labels import LabelStore
from foundation.paths import labels_path


def test_labels_live_beside_the_warehouse_never_inside(tmp_path):
    db = tmp_path / "warehouse.duckdb"
    assert labels_path(db) == tmp_path / "warehouse.duckdb.labels.jsonl"


def test_add_replace_note_remove_and_views(tmp_path):
    store = LabelStore(tmp_path / "w.labels.jsonl")
    store.add("kimi", "a", "good", "first note")
    store.add("kimi", "a", "wrong_tool")
    store.add("kimi", "a", "good", "second note")  # the same label again: one copy, the new note
    store.add("glm-5.1", "a", "good")
    assert sorted((lb.source_config, lb.label, lb.note) for lb in store.labels()) == [
        ("glm-5.1", "good", ""), ("kimi", "good", "second note"), ("kimi", "wrong_tool", ""),
    ]
    assert [lb.label for lb in store.labels_of("kimi", "a")] == ["wrong_tool", "good"]
    assert store.remove("kimi", "a", "wrong_tool") and not store.remove("kimi", "a", "wrong_tool")
    store.save_view("errors", "?config=kimi&has_error=1")
    store.save_view("errors", "config=glm-5.1")  # saved again under the same name: replaced
    assert [(v.name, v.query) for v in store.views()] == [("errors", "config=glm-5.1")]
    assert store.delete_view("errors") and store.views() == []
    with pytest.raises(LabelError, match="no saved view 'nope'"):
        store.view("nope")
    # Every line is one JSON record DuckDB and Spark read (macros/labels.sql).
    lines = (tmp_path / "w.labels.jsonl").read_text().splitlines()
    assert all(json.loads(line)["kind"] in ("label", "view") for line in lines) and len(lines) == 2


@pytest.mark.parametrize("label", ["", "Good", "has space", "x" * 41, "ünïcode", "semi;colon"])
def test_bad_labels_are_refused_and_nothing_is_written(tmp_path, label):
    store = LabelStore(tmp_path / "w.labels.jsonl")
    store.add("kimi", "a", "ok")
    before = store.path.read_bytes()
    with pytest.raises(LabelError, match="a label is 1-40 characters"):
        store.add("kimi", "a", label)
    assert store.path.read_bytes() == before


def test_a_note_and_a_view_name_have_limits(tmp_path):
    store = LabelStore(tmp_path / "w.labels.jsonl")
    with pytest.raises(LabelError, match="at most 2000"):
        store.add("kimi", "a", "ok", "n" * 2001)
    with pytest.raises(LabelError, match="view name"):
        store.save_view("no spaces please", "config=kimi")
    assert not store.path.exists() or store.labels() == []


@pytest.mark.parametrize("suffix", [".csv", ".jsonl"])
def test_export_then_import_shares_every_label(tmp_path, suffix):
    mine = LabelStore(tmp_path / "mine.labels.jsonl")
    mine.add("kimi", "id, with \"quotes\"", "good", "note, with comma\nand a newline")
    mine.add("glm-5.1", "b", "bad")
    shared = tmp_path / f"shared{suffix}"
    assert mine.export_to(shared) == 2
    theirs = LabelStore(tmp_path / "theirs.labels.jsonl")
    theirs.add("glm-5.1", "b", "bad", "their own note")
    assert theirs.import_from(shared) == (2, 1)
    assert sorted((lb.source_config, lb.conversation_id, lb.label, lb.note) for lb in theirs.labels()) == sorted(
        (lb.source_config, lb.conversation_id, lb.label, lb.note) for lb in mine.labels()
    )


def test_an_import_with_a_bad_row_writes_nothing(tmp_path):
    store = LabelStore(tmp_path / "w.labels.jsonl")
    store.add("kimi", "a", "keep")
    before = store.path.read_bytes()
    bad = tmp_path / "bad.csv"
    bad.write_text("source_config,conversation_id,label,note\nkimi,b,fine,\nkimi,c,NOT OK,\n")
    with pytest.raises(LabelError, match="row 3"):
        store.import_from(bad)
    missing = tmp_path / "missing.jsonl"
    missing.write_text('{"source_config": "kimi", "label": "x"}\n')
    with pytest.raises(LabelError, match="no conversation_id"):
        store.import_from(missing)
    assert store.path.read_bytes() == before


def test_a_damaged_label_file_is_an_error_that_names_the_line(tmp_path):
    path = tmp_path / "w.labels.jsonl"
    path.write_text('{"kind": "label", "source_config": "kimi", "conversation_id": "a", "label": "ok"}\nnot json\n')
    with pytest.raises(LabelError, match=r"w\.labels\.jsonl:2 is not JSON"):
        LabelStore(path).labels()


def test_threads_writing_at_once_lose_nothing(tmp_path):
    store = LabelStore(tmp_path / "w.labels.jsonl")

    def write(worker: int) -> None:
        for n in range(40):
            LabelStore(store.path).add("kimi", f"c{worker}-{n}", "seen")

    threads = [threading.Thread(target=write, args=(w,)) for w in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(store.labels()) == 160


def _write_from_process(path: str, worker: int) -> None:
    store = LabelStore(Path(path))
    for n in range(25):
        store.add("glm-5.1", f"p{worker}-{n}", "seen")
        store.save_view(f"v{worker}", f"page={n}")


def test_processes_writing_at_once_lose_nothing_and_readers_never_see_half_a_file(tmp_path):
    path = tmp_path / "w.labels.jsonl"
    context = multiprocessing.get_context("spawn")
    workers = [context.Process(target=_write_from_process, args=(str(path), w)) for w in range(3)]
    for w in workers:
        w.start()
    reads = 0
    while any(w.is_alive() for w in workers):
        LabelStore(path).labels()  # raises on a half-written line
        reads += 1
    for w in workers:
        w.join()
        assert w.exitcode == 0
    store = LabelStore(path)
    assert len(store.labels()) == 75 and sorted(v.name for v in store.views()) == ["v0", "v1", "v2"]
    assert reads > 0
    assert not list(tmp_path.glob("*.partial"))
