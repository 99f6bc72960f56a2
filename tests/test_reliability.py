"""Bad input gets a clear reason and loses nothing; the warehouse never ends half-written."""

from __future__ import annotations

import gzip
import json
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from foundation.errors import NothingLoaded, SourceError, StrictModeRejection, WarehouseInUse
from foundation.warehouse import one_row
from ingest import loader
from ingest.loader import ingest
from ingest.synthetic.generator import generate
from tests.helpers import (
    BAD_LINES,
    DUPLICATE_IN_INPUT,
    FLAGGED_LINES,
    GOOD,
    SUPERSEDED,
    good_line,
    run_cli,
    write_jsonl,
)


def rejected(db: Path) -> list[tuple]:
    con = duckdb.connect(str(db), read_only=True)
    try:
        return con.execute("select source_row, reason, raw_text from raw.rejected_rows order by source_row").fetchall()
    finally:
        con.close()


def loaded_ids(db: Path) -> set[str]:
    con = duckdb.connect(str(db), read_only=True)
    try:
        return {r[0] for r in con.execute("select conversation_id from raw.conversations").fetchall()}
    finally:
        con.close()


@pytest.mark.parametrize("case,line,reason", BAD_LINES, ids=[c[0] for c in BAD_LINES])
def test_each_bad_line_alone_is_rejected_with_its_reason(tmp_path, case, line, reason):
    path = tmp_path / f"{case}.jsonl"
    path.write_text(line + "\n", encoding="utf-8")
    with pytest.raises(NothingLoaded, match="rejected"):
        ingest(tmp_path / "w.duckdb", [str(path)])
    rows = rejected(tmp_path / "w.duckdb")
    assert len(rows) == 1
    assert rows[0][0] == 1 and reason in rows[0][1] and rows[0][2] == line
    # The CLI prints the same reason it stored.
    result = run_cli("ingest", str(path), "--db", str(tmp_path / "cli.duckdb"))
    assert result.returncode == 1 and reason in result.stderr


def test_bad_lines_mixed_with_good_rows(tmp_path):
    lines = [good_line(0)]
    for _, line, _ in BAD_LINES:
        lines += [line, good_line(1)]
    lines += [line for _, line, _ in FLAGGED_LINES]
    path = tmp_path / "mixed.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    result = ingest(tmp_path / "w.duckdb", [str(path)])
    assert result.read == len(lines) == result.loaded + result.rejected
    # GOOD[1] repeats: the last copy wins and the earlier ones are rejected as duplicates.
    assert result.rejected == len(BAD_LINES) + len(BAD_LINES) - 1
    reasons = [r[1] for r in rejected(tmp_path / "w.duckdb")]
    assert sum("duplicate id" in r for r in reasons) == len(BAD_LINES) - 1
    stored_reasons = Counter(r for r in reasons if "duplicate id" not in r)
    assert result.inputs[0].reasons == {**stored_reasons, DUPLICATE_IN_INPUT: len(BAD_LINES) - 1}
    assert {GOOD[0]["id"], GOOD[1]["id"], "r1", "r2", "r3", "r4"} == loaded_ids(tmp_path / "w.duckdb")


def test_representable_oddities_load_flagged(tmp_path):
    path = write_jsonl(tmp_path / "flagged.jsonl", [json.loads(line) for _, line, _ in FLAGGED_LINES])
    ingest(tmp_path / "w.duckdb", [str(path)])
    con = duckdb.connect(str(tmp_path / "w.duckdb"), read_only=True)
    flags = dict(con.execute("select conversation_id, ingest_flags from raw.conversations").fetchall())
    con.close()
    for (case, line, flag) in FLAGGED_LINES:
        assert flag in flags[json.loads(line)["id"]], case


def test_non_utf8_bytes_are_rejected_and_good_rows_load(tmp_path):
    path = tmp_path / "latin1.jsonl"
    path.write_bytes(good_line(0).encode() + b"\n" + b'{"id": "bad", "conversations": "\xff\xfe"}\n' + good_line(1).encode() + b"\n")
    result = ingest(tmp_path / "w.duckdb", [str(path)])
    assert (result.read, result.loaded, result.rejected) == (3, 2, 1)
    row, reason, raw = rejected(tmp_path / "w.duckdb")[0]
    assert row == 2 and "UTF-8" in reason and '"id": "bad"' in raw


def test_empty_file_alone_says_nothing_could_be_read(tmp_path):
    (tmp_path / "empty.jsonl").write_text("", encoding="utf-8")
    result = run_cli("ingest", str(tmp_path / "empty.jsonl"), "--db", str(tmp_path / "w.duckdb"))
    assert result.returncode == 1
    assert "nothing could be read" in result.stderr and "Traceback" not in result.stderr


def test_empty_file_next_to_a_good_one_is_fine(tmp_path):
    (tmp_path / "empty.jsonl").write_text("", encoding="utf-8")
    write_jsonl(tmp_path / "good.jsonl", GOOD[:2])
    result = ingest(tmp_path / "w.duckdb", [str(tmp_path / "empty.jsonl"), str(tmp_path / "good.jsonl")])
    assert (result.read, result.loaded) == (2, 2)


def test_a_50_mb_message_loads(tmp_path):
    row = dict(GOOD[0], id="huge")
    row["conversations"] = row["conversations"] + [{"from": "tool", "value": "x" * (50 * 1024 * 1024)}]
    write_jsonl(tmp_path / "huge.jsonl", [row, GOOD[1]])
    result = ingest(tmp_path / "w.duckdb", [str(tmp_path / "huge.jsonl")])
    assert (result.read, result.loaded) == (2, 2)


def test_duplicate_ids_across_files_keep_the_last_and_record_the_first(tmp_path):
    write_jsonl(tmp_path / "a.jsonl", [GOOD[0]])
    write_jsonl(tmp_path / "b.jsonl", [dict(GOOD[0], task="second copy")])
    result = ingest(tmp_path / "w.duckdb", [str(tmp_path / "a.jsonl"), str(tmp_path / "b.jsonl")])
    assert (result.read, result.loaded, result.rejected) == (2, 1, 1)
    first, second = result.inputs
    assert first.reasons == {SUPERSEDED: 1} and second.reasons == {}
    con = duckdb.connect(str(tmp_path / "w.duckdb"), read_only=True)
    assert con.execute("select task from raw.conversations").fetchall() == [("second copy",)]
    reason = one_row(con, "select reason from raw.rejected_rows")[0]
    con.close()
    assert reason == f"duplicate id: superseded by {tmp_path / 'b.jsonl'} row 1"


def test_cli_prints_the_reason_a_duplicate_was_rejected(tmp_path):
    write_jsonl(tmp_path / "a.jsonl", [GOOD[0]])
    write_jsonl(tmp_path / "b.jsonl", [dict(GOOD[0], task="second copy"), GOOD[1], GOOD[1]])
    result = run_cli("ingest", str(tmp_path / "a.jsonl"), str(tmp_path / "b.jsonl"), "--db", str(tmp_path / "w.duckdb"))
    assert result.returncode == 0, result.stderr
    printed = [line.strip() for line in result.stdout.splitlines() if "rejected 1 ×" in line]
    assert printed == [f"rejected 1 × {SUPERSEDED}", f"rejected 1 × {DUPLICATE_IN_INPUT}"]


def test_the_same_id_in_two_configs_is_kept_twice(tmp_path):
    write_jsonl(tmp_path / "data" / "kimi" / "train.jsonl", [GOOD[0]])
    write_jsonl(tmp_path / "data" / "glm-5.1" / "train.jsonl", [GOOD[0]])
    result = ingest(tmp_path / "w.duckdb", [str(tmp_path)])
    assert result.loaded == 2
    con = duckdb.connect(str(tmp_path / "w.duckdb"), read_only=True)
    assert one_row(con, "select count(distinct source_config) from raw.conversations")[0] == 2
    con.close()


def test_parquet_with_another_schema_is_rejected_whole(tmp_path):
    pq.write_table(pa.table({"prompt": ["a", "b"], "answer": ["c", "d"]}), tmp_path / "other.parquet")
    with pytest.raises(NothingLoaded):
        ingest(tmp_path / "w.duckdb", [str(tmp_path / "other.parquet")])
    rows = rejected(tmp_path / "w.duckdb")
    assert len(rows) == 2 and all('schema mismatch: no column "id"' in r[1] for r in rows)
    assert json.loads(rows[0][2])["prompt"] == "a"


def test_missing_path_and_empty_directory_are_clear_errors(tmp_path):
    with pytest.raises(SourceError, match="no such file"):
        ingest(tmp_path / "w.duckdb", [str(tmp_path / "missing.jsonl")])
    (tmp_path / "empty_dir").mkdir()
    with pytest.raises(SourceError, match="no data files"):
        ingest(tmp_path / "w.duckdb", [str(tmp_path / "empty_dir")])


def test_gzip_jsonl_simply_loads(tmp_path):
    with gzip.open(tmp_path / "rows.jsonl.gz", "wt", encoding="utf-8") as f:
        f.write("\n".join(json.dumps(r) for r in GOOD) + "\n")
    assert ingest(tmp_path / "w.duckdb", [str(tmp_path / "rows.jsonl.gz")]).loaded == len(GOOD)


def test_strict_fails_on_any_rejection_and_loads_nothing(tmp_path):
    path = tmp_path / "mixed.jsonl"
    path.write_text(good_line(0) + "\nnot json\n", encoding="utf-8")
    with pytest.raises(StrictModeRejection):
        ingest(tmp_path / "w.duckdb", [str(path)], strict=True)
    assert loaded_ids(tmp_path / "w.duckdb") == set()
    result = run_cli("ingest", str(path), "--db", str(tmp_path / "w.duckdb"), "--strict")
    assert result.returncode == 1 and "--strict" in result.stderr


def test_cli_names_the_file_line_and_reason(tmp_path):
    path = tmp_path / "mixed.jsonl"
    path.write_text(good_line(0) + "\nnot json\n", encoding="utf-8")
    result = run_cli("ingest", str(path), "--db", str(tmp_path / "w.duckdb"))
    assert result.returncode == 0
    assert "read 2, loaded 1, rejected 1" in result.stdout
    assert f"{path}: line/row 2: invalid JSON" in result.stderr


def test_reingesting_bad_input_is_idempotent(tmp_path):
    path = tmp_path / "mixed.jsonl"
    path.write_text(good_line(0) + "\nnot json\n[1]\n", encoding="utf-8")
    for _ in range(2):
        ingest(tmp_path / "w.duckdb", [str(path)])
    assert len(rejected(tmp_path / "w.duckdb")) == 2
    assert len(loaded_ids(tmp_path / "w.duckdb")) == 1


KILLED_AFTER_WRITING = """
import os, signal, sys
from pathlib import Path
from ingest import loader

write_kept = loader._write_kept

def write_kept_then_die(*args):
    write_kept(*args)
    os.kill(os.getpid(), signal.SIGKILL)

loader._write_kept = write_kept_then_die
loader.ingest(Path(sys.argv[1]), sys.argv[2:])
"""


def test_killed_ingest_leaves_the_warehouse_as_it_was(tmp_path):
    db = tmp_path / "w.duckdb"
    ingest(db, ["sample"])
    first = write_jsonl(tmp_path / "first.jsonl", [row for _, row in generate(2500, seed=99)])
    second = write_jsonl(tmp_path / "second.jsonl", [row for _, row in generate(10, seed=98)] + [{"id": "bad"}])
    # Killed for real (SIGKILL, no cleanup) at the worst point: every row written into raw,
    # rejections committed batch by batch, the ingest not yet finished nor committed.
    process = subprocess.run([sys.executable, "-c", KILLED_AFTER_WRITING, str(db), str(first), str(second)])
    assert process.returncode == -signal.SIGKILL
    assert loaded_ids(db) == {row["id"] for _, row in generate(300)}
    assert rejected(db) == []
    spool = tmp_path / "w.duckdb.spool"
    assert list(spool.rglob("*.parquet")), "the killed ingest had spooled nothing"
    result = run_cli("ingest", "sample", "--db", str(db))
    assert result.returncode == 0 and "read 300, loaded 300" in result.stdout
    # The next ingest discards what the killed one wrote, its run record and its spool included.
    assert written_rows(db) == 300
    assert not spool.exists()
    con = duckdb.connect(str(db), read_only=True)
    try:
        assert one_row(con, "select count(*) from raw.ingest_runs where finished_at is null")[0] == 0
        assert one_row(con, "select count(*) from raw.rejected_rows_written")[0] == 0
    finally:
        con.close()


def test_an_ingest_failing_midway_leaves_the_warehouse_as_it_was(tmp_path, monkeypatch):
    db = tmp_path / "w.duckdb"
    ingest(db, ["sample"])
    first = tmp_path / "first.jsonl"
    write_jsonl(first, [row for _, row in generate(40, seed=5)])
    real_stage_input = loader.stage_input

    def fail_on_the_second_input(con, item, *args, **kwargs):
        if item.uri.endswith("second.jsonl"):
            raise OSError("disk went away")
        real_stage_input(con, item, *args, **kwargs)

    monkeypatch.setattr(loader, "stage_input", fail_on_the_second_input)
    write_jsonl(tmp_path / "second.jsonl", [row for _, row in generate(3, seed=6)])
    with pytest.raises(OSError, match="disk went away"):
        ingest(db, [str(first), str(tmp_path / "second.jsonl")])
    assert loaded_ids(db) == {row["id"] for _, row in generate(300)}
    assert written_rows(db) == 300


def test_an_ingest_leaves_no_spool_behind(tmp_path):
    db = tmp_path / "w.duckdb"
    ingest(db, ["sample"])
    assert not (tmp_path / "w.duckdb.spool").exists()


def test_a_spool_that_cannot_be_written_fails_the_ingest_saying_so(tmp_path, monkeypatch):
    from ingest import spool

    db = tmp_path / "w.duckdb"
    ingest(db, ["sample"])

    def disk_full(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(spool.pq, "ParquetWriter", disk_full)
    first = write_jsonl(tmp_path / "first.jsonl", [row for _, row in generate(40, seed=5)])
    with pytest.raises(spool.SpoolError, match="spool .*No space left on device"):
        ingest(db, [str(first)])
    assert loaded_ids(db) == {row["id"] for _, row in generate(300)}
    assert written_rows(db) == 300
    assert not (tmp_path / "w.duckdb.spool").exists()


def written_rows(db: Path) -> int:
    con = duckdb.connect(str(db), read_only=True)
    try:
        # Every turn written belongs to a conversation written, and every conversation has all its turns.
        assert one_row(
            con,
            "select count(*) from raw.messages_written as m anti join raw.conversations_written as c using (conversation_seq)"
        )[0] == 0
        assert one_row(
            con,
            "select coalesce(sum(n_messages), 0) from raw.conversations_written"
        )[0] == one_row(con, "select count(*) from raw.messages_written")[0]
        return one_row(con, "select count(*) from raw.conversations_written")[0]
    finally:
        con.close()


HOLD = "import duckdb, sys, time; c = duckdb.connect(sys.argv[1]); print('held', flush=True); time.sleep(30)"
CLAIM = (
    "import sys, time; from pathlib import Path; from foundation import turns\n"
    "with turns.claim(Path(sys.argv[1]), 'build'):\n    print('held', flush=True); time.sleep(30)"
)


def test_a_second_writer_gets_warehouse_in_use_at_once(tmp_path):
    db = tmp_path / "w.duckdb"
    ingest(db, ["sample"])
    holder = subprocess.Popen([sys.executable, "-c", CLAIM, str(db)], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        for command in (["ingest", "sample"], ["build"]):
            started = time.monotonic()
            result = run_cli(*command, "--db", str(db))
            assert result.returncode == 1, command
            assert "warehouse is in use" in result.stderr and "being written by a running build" in result.stderr
            assert "Traceback" not in result.stderr and time.monotonic() - started < 20
        with pytest.raises(WarehouseInUse):
            ingest(db, ["sample"])
    finally:
        holder.kill()
        holder.wait()
    assert len(loaded_ids(db)) == 300


def test_a_session_holding_the_file_is_waited_for_then_named(tmp_path, monkeypatch):
    db = tmp_path / "w.duckdb"
    ingest(db, ["sample"])
    monkeypatch.setenv("TRACES_WRITER_WAIT", "2")
    holder = subprocess.Popen([sys.executable, "-c", HOLD, str(db)], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        for command in (["ingest", "sample"], ["build"]):
            result = run_cli(*command, "--db", str(db))
            assert result.returncode == 1, command
            assert "waiting for the readers" in result.stderr and "still open in another process after 2 s" in result.stderr
            assert "Traceback" not in result.stderr
        with pytest.raises(WarehouseInUse):
            ingest(db, ["sample"])
    finally:
        holder.kill()
        holder.wait()
    assert len(loaded_ids(db)) == 300


def test_line_numbers_survive_blank_lines_crlf_and_a_missing_final_newline(tmp_path):
    path = tmp_path / "crlf.jsonl"
    body = "\r\n".join([good_line(0), "", "   ", "not json", good_line(1), "", good_line(2)])  # no final newline
    path.write_bytes(body.encode())
    result = ingest(tmp_path / "w.duckdb", [str(path)])
    assert (result.read, result.loaded, result.rejected) == (4, 3, 1)
    assert [(row, text) for row, _, text in rejected(tmp_path / "w.duckdb")] == [(4, "not json")]
    con = duckdb.connect(str(tmp_path / "w.duckdb"), read_only=True)
    try:
        assert con.execute("select source_row from raw.conversations order by 1").fetchall() == [(1,), (5,), (7,)]
    finally:
        con.close()


def test_a_bad_byte_deep_in_a_big_file_costs_only_its_own_row(tmp_path):
    # Several read blocks: the block holding the bad line takes the careful path, the others the fast one.
    lines = [good_line(i % 6).replace('"id": "', f'"id": "n{i}-', 1).encode() for i in range(800)]
    lines[500] = b'{"id": "bad", "conversations": "\xff"}'
    path = tmp_path / "big.jsonl"
    path.write_bytes(b"\n".join(lines) + b"\n")
    result = ingest(tmp_path / "w.duckdb", [str(path)])
    assert (result.read, result.loaded, result.rejected) == (800, 799, 1)
    [(row, reason, _)] = rejected(tmp_path / "w.duckdb")
    assert row == 501 and "UTF-8" in reason


def test_an_unchanged_row_superseded_in_a_later_batch_is_recorded(tmp_path, monkeypatch):
    # Re-ingesting a row as it was stored does not rewrite it; when a later batch of the same
    # ingest brings that id again, the earlier row must still count as superseded.
    from ingest import readers

    monkeypatch.setattr(readers, "ARROW_BATCH_ROWS", 1)  # one row per batch
    rows = [row for _, row in generate(3, seed=4)]
    db = tmp_path / "w.duckdb"
    pq.write_table(pa.Table.from_pylist(rows), tmp_path / "first.parquet")
    ingest(db, [str(tmp_path / "first.parquet")], config="kimi")
    changed = dict(rows[0], task="changed")
    pq.write_table(pa.Table.from_pylist([rows[0], changed]), tmp_path / "again.parquet")
    result = ingest(db, [str(tmp_path / "again.parquet")], config="kimi")
    assert (result.read, result.loaded, result.rejected) == (2, 1, 1)
    con = duckdb.connect(str(db), read_only=True)
    try:
        assert con.execute("select task from raw.conversations where conversation_id = ?", [rows[0]["id"]]).fetchall() == [("changed",)]
        [(source_row, reason, raw_text)] = con.execute("select source_row, reason, raw_text from raw.rejected_rows").fetchall()
        assert source_row == 1 and "superseded by" in reason and json.loads(raw_text)["task"] == rows[0]["task"]
    finally:
        con.close()


def _stored_rows(db: Path) -> tuple[list[tuple], list[tuple], list[tuple]]:
    con = duckdb.connect(str(db), read_only=True)
    try:
        return (
            con.execute(
                "select * exclude (ingested_at, ingest_id) from raw.conversations order by source_uri, source_row"
            ).fetchall(),
            con.execute(
                "select * exclude (rejected_at, ingest_id) from raw.rejected_rows order by source_uri, source_row"
            ).fetchall(),
            con.execute(
                "select * exclude (ingested_at) from raw.messages order by conversation_seq, message_index"
            ).fetchall(),
        )
    finally:
        con.close()


def test_arrow_parsed_blocks_store_what_line_by_line_judging_stores(tmp_path, monkeypatch):
    """Clean blocks skip DuckDB's per-line judging; what they store must not depend on it."""
    from ingest import readers

    clean = tmp_path / "clean" / "train.jsonl"
    write_jsonl(clean, [row for _, row in generate(40, seed=5)])
    # Every bad and flagged line sends its block to the line-by-line path, good rows included.
    mixed = tmp_path / "mixed" / "train.jsonl"
    mixed.parent.mkdir()
    mixed.write_text(
        "\n".join([good_line(0), *(line for _, line, _ in BAD_LINES + FLAGGED_LINES), good_line(2)]) + "\n",
        encoding="utf-8",
    )
    monkeypatch.setattr(readers, "BATCH_BYTES", 64 * 1024)  # several blocks per file
    staged_by_arrow: list[bool] = []
    stage_clean_rows = readers._stage_clean_rows
    monkeypatch.setattr(
        readers, "_stage_clean_rows", lambda *a: staged_by_arrow.append(stage_clean_rows(*a)) or staged_by_arrow[-1]
    )
    ingest(tmp_path / "arrow.duckdb", [str(clean), str(mixed)])
    assert len(staged_by_arrow) > 2 and all(staged_by_arrow)  # the clean file's blocks took the Arrow path

    monkeypatch.setattr(readers, "_clean_rows", lambda first, block: None)
    ingest(tmp_path / "lines.duckdb", [str(clean), str(mixed)])
    by_arrow, by_lines = _stored_rows(tmp_path / "arrow.duckdb"), _stored_rows(tmp_path / "lines.duckdb")
    assert len(by_arrow[0]) == 40 + 2 + len(FLAGGED_LINES) and len(by_arrow[1]) == len(BAD_LINES)
    assert by_arrow == by_lines


@pytest.mark.parametrize(
    "line",
    [
        json.dumps({"id": 7, "conversations": [{"from": "human", "value": "hi"}], "tools": "[]"}),
        json.dumps({"id": "t", "conversations": [{"from": "human", "value": "hi"}], "tools": [{"name": "x"}]}),
        json.dumps({"id": "t", "conversations": [{"from": "human", "value": "hi"}], "tools": None}),
        json.dumps({"id": "t", "conversations": [], "tools": "[]"}),
        "",
        good_line(0) + " " + good_line(1),
    ],
    ids=["numeric_id", "tools_not_a_string", "null_tools", "empty_conversations", "blank_line", "two_objects"],
)
def test_a_block_arrow_cannot_take_whole_is_judged_line_by_line(tmp_path, line):
    from ingest import readers
    from ingest.sql import sql

    block = (good_line(3) + "\n" + line + "\n" + good_line(4) + "\n").encode()
    clean = readers._clean_rows(1, block)
    if clean is not None:  # parsed, but a row is rejected: nothing may be staged from Arrow
        con = duckdb.connect()
        con.execute(sql("judge/staged"))
        staged = readers._stage_clean_rows(con, clean, {"seq_base": 0, "uri": "u", "config": "c"}, lambda p: None)
        assert not staged and one_row(con, "select count(*) from staged")[0] == 0


def test_a_block_with_bad_utf8_inside_a_turn_is_not_taken_by_arrow():
    from ingest import readers

    line = json.dumps({"id": "u", "conversations": [{"from": "human", "value": "hi THERE"}], "tools": "[]"})
    block = line.encode().replace(b"THERE", b"\xff") + b"\n"
    assert readers._clean_rows(1, line.encode() + b"\n") is not None
    assert readers._clean_rows(1, block) is None


BOM = b"\xef\xbb\xbf"


def _spy_paths(monkeypatch) -> Counter:
    """Count which reading path staged each block: Arrow's parse or DuckDB's line by line."""
    from ingest import readers

    taken: Counter = Counter()
    for name, path in (("_stage_clean_rows", "arrow"), ("_stage_text_batch", "lines")):
        real = getattr(readers, name)

        def spy(*args, _real=real, _path=path, **kwargs):
            result = _real(*args, **kwargs)
            if result is not False:
                taken[_path] += 1
            return result

        monkeypatch.setattr(readers, name, spy)
    return taken


def _bom_file(path: Path, lines: list[str], newline: str = "\n") -> Path:
    data = BOM + newline.join(lines).encode() + newline.encode()
    path.write_bytes(gzip.compress(data) if path.name.endswith(".gz") else data)
    return path


@pytest.mark.parametrize(
    "name, newline, extra, path_taken",
    [
        ("rows.jsonl", "\n", [], "arrow"),
        ("rows.jsonl", "\r\n", [], "arrow"),
        # A bad line sends the block down DuckDB's line-by-line path.
        ("rows.jsonl", "\r\n", ["not json"], "lines"),
        ("rows.jsonl.gz", "\r\n", [], "arrow"),
        ("rows.jsonl.gz", "\n", ["not json"], "lines"),
    ],
)
def test_a_byte_order_mark_at_the_start_is_skipped(tmp_path, monkeypatch, name, newline, extra, path_taken):
    taken = _spy_paths(monkeypatch)
    path = _bom_file(tmp_path / name, [good_line(0), good_line(1), *extra], newline)
    result = ingest(tmp_path / "w.duckdb", [str(path)])
    assert (result.read, result.loaded, result.rejected) == (2 + len(extra), 2, len(extra))
    assert loaded_ids(tmp_path / "w.duckdb") == {GOOD[0]["id"], GOOD[1]["id"]}
    assert [row for row, _, _ in rejected(tmp_path / "w.duckdb")] == [3] * len(extra)
    assert set(taken) == {path_taken}


def test_a_byte_order_mark_before_a_json_array_is_skipped(tmp_path):
    path = tmp_path / "rows.json"
    path.write_bytes(BOM + json.dumps(GOOD[:3], indent=1).replace("\n", "\r\n").encode())
    result = ingest(tmp_path / "w.duckdb", [str(path)])
    assert (result.read, result.loaded, result.rejected) == (3, 3, 0)


def test_a_byte_order_mark_is_skipped_when_reading_line_by_line(tmp_path):
    # --limit reads line by line in Python.
    path = _bom_file(tmp_path / "rows.jsonl", [good_line(0), good_line(1), good_line(2)], "\r\n")
    result = ingest(tmp_path / "w.duckdb", [str(path)], limit=2)
    assert (result.read, result.loaded, result.rejected) == (2, 2, 0)


@pytest.mark.parametrize("bad_line_path", [False, True], ids=["arrow_block", "line_block"])
def test_a_byte_order_mark_inside_the_file_is_bad_input(tmp_path, bad_line_path):
    lines = [good_line(0).encode(), BOM + good_line(1).encode()] + ([b"not json"] if bad_line_path else [])
    path = tmp_path / "rows.jsonl"
    path.write_bytes(BOM + b"\n".join(lines) + b"\n")
    result = ingest(tmp_path / "w.duckdb", [str(path)])
    assert (result.loaded, result.rejected) == (1, len(lines) - 1)
    row, reason, raw = rejected(tmp_path / "w.duckdb")[0]
    assert row == 2 and "invalid JSON" in reason and raw.startswith("\ufeff")
