"""Incremental builds: new rows are parsed, changed rows rebuilt (stale rows removed), unchanged ones kept."""

from __future__ import annotations

import shutil

import duckdb
import pytest

from ingest.loader import ingest
from ingest.synthetic.generator import generate
from tests.helpers import write_jsonl
from tests.reference_parser import summarise
from transform.build import build

# Builds warehouses with dbt: the integration tier.
pytestmark = pytest.mark.integration


def test_incremental_build_matches_a_full_reading(tmp_path):
    rows = [row for config, row in generate(60, seed=31) if config == "kimi"]
    first, later = rows[:20], rows[20:]
    write_jsonl(tmp_path / "first.jsonl", first)
    db = tmp_path / "w.duckdb"
    ingest(db, [str(tmp_path / "first.jsonl")], config="kimi")
    build(db, echo=False)

    changed = dict(first[0], conversations=first[0]["conversations"][:2] + [{"from": "gpt", "value": "<think> done</think>\nNo tools needed."}])
    write_jsonl(tmp_path / "second.jsonl", [changed] + first[1:] + later)
    result = ingest(db, [str(tmp_path / "second.jsonl")], config="kimi")
    assert result.unchanged == len(first) - 1
    build(db, echo=False)

    final = {row["id"]: row for row in [changed] + first[1:] + later}
    con = duckdb.connect(str(db), read_only=True)
    marts = {
        r[0]: r[1:]
        for r in con.execute(
            "select conversation_id, n_tool_calls, n_thoughts, n_tool_errors, has_final_answer from fct_conversations"
        ).fetchall()
    }
    stale = con.execute(
        "select count(*) from intermediate.int_tool_calls where conversation_id = ?", [changed["id"]]
    ).fetchone()[0]
    con.close()
    assert stale == 0
    assert set(marts) == set(final)
    for conversation_id, row in final.items():
        expected = summarise(row)
        assert marts[conversation_id] == (
            expected["n_tool_calls"], expected["n_thoughts"], expected["n_tool_errors"], expected["has_final_answer"]
        ), conversation_id


INCREMENTAL_MARTS = ("fct_assistant_turns", "fct_tool_calls", "fct_conversations")


def test_incremental_marts_equal_a_full_rebuild(tmp_path):
    rows = [row for _, row in generate(60, seed=37)]
    write_jsonl(tmp_path / "first.jsonl", rows[:40])
    db = tmp_path / "w.duckdb"
    ingest(db, [str(tmp_path / "first.jsonl")])
    build(db, echo=False)
    changed = dict(rows[3], conversations=rows[3]["conversations"][:3])
    write_jsonl(tmp_path / "second.jsonl", [changed] + rows[40:])
    ingest(db, [str(tmp_path / "second.jsonl")])
    build(db, echo=False)

    rebuilt = tmp_path / "rebuilt.duckdb"
    shutil.copy(db, rebuilt)
    build(rebuilt, echo=False, full_refresh=True)

    con = duckdb.connect(str(db), read_only=True)
    con.execute(f"attach '{rebuilt}' as rebuilt (read_only)")
    try:
        for mart in INCREMENTAL_MARTS:
            incremental = f"select * from main.{mart}"
            full = f"select * from rebuilt.main.{mart}"
            assert con.execute(f"select count(*) from main.{mart}").fetchone()[0] > 0
            assert con.execute(f"select count(*) from ({incremental} except all {full})").fetchone()[0] == 0, mart
            assert con.execute(f"select count(*) from ({full} except all {incremental})").fetchone()[0] == 0, mart
        # Near-duplicates: the re-ingested conversation's old text is gone from the matches, and the
        # clusters are what a full rebuild finds.
        for table in ("intermediate.int_near_duplicate_clusters", "main.dim_near_duplicate_clusters"):
            incremental, full = f"select * from {table}", f"select * from rebuilt.{table}"
            assert con.execute(f"select count(*) from ({incremental} except all {full})").fetchone()[0] == 0, table
            assert con.execute(f"select count(*) from ({full} except all {incremental})").fetchone()[0] == 0, table
        assert con.execute("select count(*) from main.dim_near_duplicate_clusters where task_cluster_size > 1").fetchone()[0] > 0
        # Each passing build moved the tag check's watermark to its newest conversation.
        watermarks = [r[0] for r in con.execute("select conversation_seq from main.tested_through order by recorded_at").fetchall()]
        newest = con.execute("select max(conversation_seq) from main.fct_conversations").fetchone()[0]
        assert len(watermarks) == 2 and watermarks[0] < watermarks[1] == newest
    finally:
        con.close()
