"""Ingest from every SOURCE form, with real files; counts always reconcile."""

from __future__ import annotations

import gzip
import json
import os
import subprocess
import sys
from pathlib import Path

import datasets
import duckdb
import pytest

from foundation.errors import SourceError
from foundation.warehouse import STORAGE_COMPATIBILITY_VERSION, connect, one_row, storage_version
from ingest.loader import ingest
from ingest.sources import source_kind
from ingest.sql import sql
from ingest.synthetic.generator import generate
from ingest.synthetic.sample import rows_to_table, write_sample
from tests.helpers import run_cli, write_jsonl

PROJECT = Path(__file__).resolve().parent.parent


def counts(db: Path) -> dict[str, int]:
    con = duckdb.connect(str(db), read_only=True)
    try:
        return dict(con.execute("select source_config, count(*) from raw.conversations group by 1").fetchall())
    finally:
        con.close()


def rows(n: int, seed: int = 3) -> list[tuple[str, dict]]:
    return list(generate(n, seed=seed))


def test_generated_random_ids_change_only_the_ids_and_do_not_sort_in_order():
    plain, shuffled = rows(40), list(generate(40, seed=3, random_ids=True))
    assert [(c, {**r, "id": None}) for c, r in plain] == [(c, {**r, "id": None}) for c, r in shuffled]
    ids = [r["id"] for c, r in shuffled if c == "kimi"]
    assert len(set(ids)) == len(ids) and ids != sorted(ids)
    assert [r["id"] for c, r in plain if c == "kimi"] == sorted(r["id"] for c, r in plain if c == "kimi")


def test_embedded_sample_loads_both_configs(tmp_path):
    result = ingest(tmp_path / "w.duckdb", ["sample"])
    assert result.read == result.loaded + result.rejected == 300
    assert counts(tmp_path / "w.duckdb") == {"kimi": 150, "glm-5.1": 150}


def test_jsonl_json_array_and_gzip_files(tmp_path):
    data = [r for _, r in rows(12)]
    write_jsonl(tmp_path / "a.jsonl", data[:4])
    (tmp_path / "b.json").write_text(json.dumps(data[4:8]), encoding="utf-8")
    with gzip.open(tmp_path / "c.jsonl.gz", "wt", encoding="utf-8") as f:
        f.writelines(json.dumps(r) + "\n" for r in data[8:])
    db = tmp_path / "w.duckdb"
    result = ingest(db, [str(tmp_path / "a.jsonl"), str(tmp_path / "b.json"), str(tmp_path / "c.jsonl.gz")])
    assert (result.read, result.loaded, result.rejected) == (12, 12, 0)
    assert counts(db) == {"default": 12}


def test_parquet_file_and_glob(tmp_path):
    import pyarrow.parquet as pq

    data = [r for _, r in rows(10)]
    pq.write_table(rows_to_table(data[:5]), tmp_path / "part-0.parquet")
    pq.write_table(rows_to_table(data[5:]), tmp_path / "part-1.parquet")
    db = tmp_path / "w.duckdb"
    result = ingest(db, [str(tmp_path / "part-*.parquet")], config="kimi")
    assert (result.read, result.loaded) == (10, 10)
    assert counts(db) == {"kimi": 10}


@pytest.mark.parametrize("fmt", ["jsonl", "parquet"])
def test_hub_layout_directory_takes_config_from_path(tmp_path, fmt):
    write_sample(40, tmp_path / "hub", fmt=fmt, seed=5)
    db = tmp_path / "w.duckdb"
    result = ingest(db, [str(tmp_path / "hub")])
    assert result.read == result.loaded == 40
    assert counts(db) == {"kimi": 20, "glm-5.1": 20}


def test_config_option_wins_over_the_path(tmp_path):
    write_sample(10, tmp_path / "hub", fmt="jsonl", seed=5)
    db = tmp_path / "w.duckdb"
    ingest(db, [str(tmp_path / "hub" / "data" / "kimi")], config="renamed")
    assert counts(db) == {"renamed": 5}


def test_save_to_disk_directory(tmp_path):
    data = [r for _, r in rows(6)]
    datasets.Dataset(rows_to_table(data)).save_to_disk(str(tmp_path / "saved"))
    db = tmp_path / "w.duckdb"
    result = ingest(db, [str(tmp_path / "saved")], config="glm-5.1")
    assert (result.read, result.loaded) == (6, 6)
    assert counts(db) == {"glm-5.1": 6}


def test_hf_source_uses_load_dataset_on_a_local_copy_in_hub_layout(tmp_path):
    """load_dataset(name, config) on a directory laid out like the hub repo, README configs included."""
    repo = tmp_path / "hermes"
    write_sample(20, repo, fmt="parquet", seed=9)
    (repo / "README.md").write_text(
        "---\nconfigs:\n"
        "- config_name: kimi\n  data_files:\n  - split: train\n    path: data/kimi/train.parquet\n"
        "- config_name: glm-5.1\n  data_files:\n  - split: train\n    path: data/glm-5.1/train.parquet\n---\n",
        encoding="utf-8",
    )
    db = tmp_path / "w.duckdb"
    result = ingest(db, [f"hf:{repo}"])
    assert result.loaded == 20
    assert counts(db) == {"kimi": 10, "glm-5.1": 10}
    assert {i.uri for i in result.inputs} == {f"hf://{repo}/kimi", f"hf://{repo}/glm-5.1"}


def _seed_datasets_cache(home: Path, parquet: Path, config: str) -> None:
    """Leave the datasets cache as an earlier online load_dataset of the hub repo would."""
    from datasets.packaged_modules.parquet.parquet import Parquet

    env_home = os.environ.get("HF_HOME")
    cache = home / "datasets"
    builder = Parquet(
        data_files={"train": [str(parquet)]}, dataset_name="lambda___hermes-agent-reasoning-traces",
        config_name=config, hash="0123456789abcdef", cache_dir=str(cache),
    )
    builder.download_and_prepare()
    root = cache / "lambda___hermes-agent-reasoning-traces"
    for built in root.glob(f"{config}-*"):
        built.rename(root / config)
    for arrow in (root / config).rglob("lambda___hermes-agent-reasoning-traces-*.arrow"):
        arrow.rename(arrow.with_name(arrow.name.replace("lambda___", "")))
    assert env_home is None or env_home != str(home)


def test_hf_source_offline_from_the_datasets_cache(tmp_path):
    """The real hub name, hub unreachable: datasets answers from its cache (HF_HUB_OFFLINE=1)."""
    write_sample(12, tmp_path / "src", fmt="parquet", seed=13)
    home = tmp_path / "hf_home"
    for config in ("kimi", "glm-5.1"):
        _seed_datasets_cache(home, tmp_path / "src" / "data" / config / "train.parquet", config)
    db = tmp_path / "w.duckdb"
    result = run_cli(
        "ingest", "hf:lambda/hermes-agent-reasoning-traces", "--db", str(db),
        env={"HF_HOME": str(home), "HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1"},
    )
    assert result.returncode == 0, result.stderr
    assert "read 12, loaded 12, rejected 0" in result.stdout
    assert counts(db) == {"kimi": 6, "glm-5.1": 6}


def test_reingesting_the_same_rows_replaces_them(tmp_path):
    db = tmp_path / "w.duckdb"
    first = ingest(db, ["sample"])
    second = ingest(db, ["sample"])
    assert counts(db) == {"kimi": 150, "glm-5.1": 150}
    assert second.unchanged == first.loaded == 300


def test_changed_rows_are_rewritten_and_unchanged_ones_are_not(tmp_path):
    data = [r for _, r in rows(6)]
    write_jsonl(tmp_path / "a.jsonl", data)
    db = tmp_path / "w.duckdb"
    ingest(db, [str(tmp_path / "a.jsonl")])
    data[0] = dict(data[0], task="changed task")
    write_jsonl(tmp_path / "a.jsonl", data)
    result = ingest(db, [str(tmp_path / "a.jsonl")])
    assert result.unchanged == 5
    con = duckdb.connect(str(db), read_only=True)
    assert con.execute("select task from raw.conversations where conversation_id = ?", [data[0]["id"]]).fetchone() == (
        "changed task",
    )
    con.close()


@pytest.mark.parametrize("source, kind", [("sample", "sample"), ("hf:lambda/x", "hub"), ("data/*.jsonl", "files"), ("sample.jsonl", "files")])
def test_every_source_is_found_by_one_registry(source, kind):
    assert source_kind(source).name == kind


@pytest.mark.parametrize("source", ["sample", "hf:lambda/hermes-agent-reasoning-traces"])
def test_spark_refuses_the_sources_made_in_this_process_and_says_what_to_do(source):
    from ingest.spark_loader import _inputs

    with pytest.raises(SourceError, match="Spark reads files and URIs; write the data out first"):
        _inputs([source], None)


def test_missing_path_is_a_clear_error(tmp_path):
    with pytest.raises(SourceError, match="no such file"):
        ingest(tmp_path / "w.duckdb", [str(tmp_path / "nope.jsonl")])
    assert not (tmp_path / "w.duckdb").exists()


def test_warehouse_opens_in_duckdb_1_4(tmp_path):
    db = tmp_path / "w.duckdb"
    ingest(db, ["sample"])
    con = connect(db, read_only=True)
    assert storage_version(con).startswith(STORAGE_COMPATIBILITY_VERSION)
    # Message text is stored zstd-compressed (zstd_min_string_length): 1.4 must read that too.
    compressions = {r[0] for r in con.execute(
        "select compression from pragma_storage_info('raw.messages_written') where column_name = 'value'"
    ).fetchall()}
    text_chars = con.execute("select sum(strlen(value)) from raw.messages_written").fetchone()[0]
    con.close()
    assert "ZSTD" in compressions
    old_duckdb = PROJECT / ".venv" / "duckdb-1.4"
    assert old_duckdb.is_dir(), "make setup installs DuckDB 1.4 into .venv/duckdb-1.4"
    script = (
        "import duckdb, sys; c = duckdb.connect(sys.argv[1], read_only=True); "
        "print(duckdb.__version__, c.execute('select count(*) from raw.conversations').fetchone()[0], "
        "c.execute('select sum(strlen(value)) from raw.messages').fetchone()[0])"
    )
    out = subprocess.run(
        [sys.executable, "-c", script, str(db)], capture_output=True, text=True,
        env={**os.environ, "PYTHONPATH": str(old_duckdb)},
    )
    assert out.returncode == 0, out.stderr
    version, n, chars = out.stdout.split()
    assert version.startswith("1.4") and int(n) == 300 and int(chars) == text_chars


def _rows_as_given(db: Path) -> dict[str, tuple]:
    """Each loaded row's turns and tools text, put back together from the stored-once tables."""
    con = duckdb.connect(str(db), read_only=True)
    try:
        found = con.execute(
            f"""
            select r.conversation_id, g.turns, t.tools
            from raw.conversations as r
            left join ({sql("schema/turns_as_given", seqs="select conversation_seq from raw.conversations")}) as g
                on r.conversation_seq = g.conversation_seq
            left join raw.toolsets as t on r.tools_hash = t.tools_hash
            """
        ).fetchall()
    finally:
        con.close()
    return {cid: ([(t["from"], t["value"]) for t in turns], tools) for cid, turns, tools in found}


def _expected(data: list[dict]) -> dict[str, tuple]:
    return {r["id"]: ([(t["from"], t["value"]) for t in r["conversations"]], r["tools"]) for r in data}


def test_repeated_texts_are_stored_once_and_rows_come_back_as_given(tmp_path):
    data = [r for _, r in rows(40)]
    write_jsonl(tmp_path / "a.jsonl", data)
    db = tmp_path / "w.duckdb"
    ingest(db, [str(tmp_path / "a.jsonl")])
    con = duckdb.connect(str(db), read_only=True)
    try:
        assert one_row(con, "select count(*) from raw.toolsets")[0] == len({r["tools"] for r in data})
        prompts = {r["conversations"][0]["value"] for r in data if r["conversations"][0]["from"] == "system"}
        assert one_row(con, "select count(*) from raw.system_prompts")[0] == len(prompts) > 0
        assert one_row(
            con,
            "select count(*) from raw.messages where message_index = 0 and system_prompt_hash is not null and value is not null"
        )[0] == 0
        # One row per turn, each conversation's turns numbered from 0.
        assert con.execute(
            "select count(*), count(distinct (conversation_seq, message_index)) from raw.messages"
        ).fetchone() == (sum(len(r["conversations"]) for r in data),) * 2
        assert one_row(
            con,
            "select bool_and(n_messages = (select count(*) from raw.messages as m where m.conversation_seq = c.conversation_seq)) "
            "from raw.conversations as c"
        )[0]
    finally:
        con.close()
    assert _rows_as_given(db) == _expected(data)


def test_a_warehouse_in_the_earlier_layout_is_migrated_on_ingest(tmp_path):
    old, new = [r for _, r in rows(8)][:5], [r for _, r in rows(8, seed=4)][:3]
    db = tmp_path / "w.duckdb"
    con = connect(db)
    try:
        # raw.conversations as ingest wrote it before the repeated texts were stored once.
        con.execute("""create schema raw; create table raw.conversations (conversation_id varchar not null, source_config varchar not null, category varchar,
            subcategory varchar, task varchar, tools varchar, conversations struct("from" varchar, "value" varchar)[] not null,
            source_uri varchar not null, source_row bigint, ingested_at timestamp not null, ingest_id varchar not null,
            content_hash varchar not null, ingest_flags varchar[] not null)""")
        for n, r in enumerate(old, start=1):
            con.execute(
                "insert into raw.conversations values (?, 'kimi', ?, ?, ?, ?, ?, 'old.jsonl', ?, now(), 'old', 'h', [])",
                [r["id"], r["category"], r["subcategory"], r["task"], r["tools"], r["conversations"], n],
            )
    finally:
        con.close()
    write_jsonl(tmp_path / "b.jsonl", new)
    ingest(db, [str(tmp_path / "b.jsonl")], config="kimi")
    assert _rows_as_given(db) == _expected(old + new)
    assert _ids_in_ingest_order(db) == [r["id"] for r in old + new]


def _back_to_turn_lists(db: Path, keep_seq: bool) -> None:
    """Rewrite a warehouse in the layout before turns were rows: a list of turns on each
    conversation row (and, unless ``keep_seq``, before conversations were numbered)."""
    con = connect(db)
    try:
        con.execute(
            f"""
            drop view raw.conversations;
            drop view raw.messages;
            create table raw.with_turns as
            select
                c.* exclude (n_messages{'' if keep_seq else ', conversation_seq'}),
                (select list({{'from': m."from", 'value': m."value"}} order by m.message_index)
                 from raw.messages_written as m where m.conversation_seq = c.conversation_seq) as conversations
            from raw.conversations_written as c
            order by c.conversation_seq;
            drop table raw.messages_written;
            drop table raw.conversations_written;
            alter table raw.with_turns rename to conversations_written;
            """
        )
    finally:
        con.close()


def test_a_warehouse_with_turn_lists_is_migrated_to_message_rows(tmp_path):
    old, new = [r for _, r in rows(8)][:5], [r for _, r in rows(8, seed=4)][:3]
    db = tmp_path / "w.duckdb"
    ingest(db, [str(write_jsonl(tmp_path / "a.jsonl", old))], config="kimi")
    _back_to_turn_lists(db, keep_seq=True)
    ingest(db, [str(write_jsonl(tmp_path / "b.jsonl", new))], config="kimi")
    assert _rows_as_given(db) == _expected(old + new)
    assert _ids_in_ingest_order(db) == [r["id"] for r in old + new]


def _ids_in_ingest_order(db) -> list[str]:
    con = connect(db)
    try:
        assert one_row(
            con,
            "select count(*) = count(distinct conversation_seq) from raw.conversations_written"
        )[0]
        return [i for (i,) in con.execute("select conversation_id from raw.conversations order by conversation_seq").fetchall()]
    finally:
        con.close()


def test_conversations_are_numbered_in_ingest_order_whatever_their_ids(tmp_path):
    # The export reads ranges of conversation_seq: it must follow ingest order, not the ids.
    first, second = [r for _, r in rows(8)][:4], [r for _, r in rows(8, seed=4)][:4]
    for n, r in enumerate(first + second):
        r["id"] = f"{(n * 7919) % 13:02d}-{r['id']}"  # ids out of order
    db = tmp_path / "w.duckdb"
    write_jsonl(tmp_path / "a.jsonl", first)
    ingest(db, [str(tmp_path / "a.jsonl")], config="kimi")
    # A warehouse from before the numbering: the column is added, in stored order.
    _back_to_turn_lists(db, keep_seq=False)
    write_jsonl(tmp_path / "b.jsonl", second)
    ingest(db, [str(tmp_path / "b.jsonl")], config="kimi")
    assert _ids_in_ingest_order(db) == [r["id"] for r in first + second]


@pytest.mark.parametrize(
    "limit, share, expected",
    [("1GB", 0.75, "715MiB"), ("4GiB", 0.75, "3072MiB"), ("512 MB", 0.5, "244MiB"), ("80%", 0.75, "80%")],
)
def test_share_of_a_memory_limit(limit, share, expected):
    from foundation.warehouse import share_of_memory_limit

    assert share_of_memory_limit(share, limit) == expected


def test_ingest_runs_within_its_share_of_the_memory_limit(tmp_path, monkeypatch):
    # `traces run` starts dbt beside the ingest, so the ingest leaves it a quarter of the limit.
    from foundation import warehouse
    from ingest import loader

    limits: list[str] = []
    real_connect = warehouse.connect

    def connect(path, *args, **kwargs):
        con = real_connect(path, *args, **kwargs)
        limits.append(one_row(con, "select current_setting('memory_limit')")[0])
        return con

    monkeypatch.setattr(warehouse, "connect", connect)
    ingest(tmp_path / "w.duckdb", ["sample"], limit=5)
    monkeypatch.delenv("TRACES_MEMORY_LIMIT", raising=False)
    share = warehouse.share_of_memory_limit(loader.INGEST_MEMORY_SHARE, "1GB")  # 476MiB
    assert limits[-1] == f"{int(share.removesuffix('MiB')):.1f} MiB"
