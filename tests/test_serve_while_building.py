"""A real `traces serve` under load while a real `traces ingest` and `traces build` write the same
warehouse: the writers never fail, search and the report pages answer throughout, pages that read
the warehouse answer 503 with Retry-After (and a page that reloads itself) while a writer has it,
every label write is stored or refused with a status, and afterwards the explorer shows the new
data without a restart. The load client is the benchmark's (bench/serve_while_writing.py)."""

from __future__ import annotations

import re
import time
from pathlib import Path

import duckdb
import pytest

from bench.serve_while_writing import READ_WAREHOUSE_KINDS, REPORT_PAGES, Load, run_writers, serving
from foundation.paths import search_index_path
from foundation.warehouse import one_row
from ingest.loader import ingest
from ingest.synthetic.generator import generate
from reports.web.search import SearchIndex
from tests.helpers import write_jsonl
from transform.build import build

CLIENTS = 4
FIRST_ROWS = 30
NEW_ROWS = 8


def kimi_rows(path: Path, rows: int, seed: int, prefix: str) -> Path:
    chosen = [dict(row, id=f"{prefix}{row['id']}") for config, row in generate(rows * 2, seed=seed) if config == "kimi"]
    return write_jsonl(path, chosen)


def count(db: Path, sql: str):
    con = duckdb.connect(str(db), read_only=True)
    try:
        return one_row(con, sql)[0]
    finally:
        con.close()


@pytest.mark.integration
def test_serve_under_load_while_an_ingest_and_a_build_write_the_warehouse(tmp_path):
    # A warehouse of its own, small: what is measured is the taking of turns, not the build.
    db = tmp_path / "warehouse.duckdb"
    ingest(db, [str(kimi_rows(tmp_path / "first" / "kimi.jsonl", FIRST_ROWS, 31, ""))], config="kimi")
    build(db, echo=False)
    SearchIndex(search_index_path(db), db).update()
    before = count(db, "select count(*) from fct_conversations")
    rows = kimi_rows(tmp_path / "late" / "kimi.jsonl", NEW_ROWS, 23, "late-")
    with serving(db) as base:
        load = Load.against(base, db)
        for slug in REPORT_PAGES:  # the report pages as last read, for the time a writer has the file
            assert load.request("report", f"/report/{slug}").status == 200
        load.answers.clear()
        with load.running(CLIENTS):
            time.sleep(1)
            writers = run_writers(db, rows, "kimi")
            time.sleep(1)
        # No failed write.
        assert [w["exit_code"] for w in writers] == [0, 0], writers
        # Search, the report pages and label writes kept answering; only pages that read the warehouse answered 503.
        summary = load.summary()
        assert all(a.status in (200, 303, 503) for a in load.answers), summary
        assert all(a.status == 200 for a in load.answers if a.kind in ("search", "report")), summary
        busy = [a for a in load.answers if a.status == 503]
        assert busy, f"no request met the writers ({writers}): {summary}"
        for answer in busy:
            assert answer.kind in READ_WAREHOUSE_KINDS and answer.retry_after == "5"
            assert '<meta http-equiv="refresh" content="5">' in answer.body, answer.body
            assert re.search(r"<h1>An? (ingest|build) is running</h1>", answer.body), answer.body
        # Every label write stored (303) or refused with its status; none lost.
        accepted = [sent for sent in load.labels_sent if sent[3] == 303]
        assert accepted and len(load.labels_stored(db)) == len(accepted)
        assert all(status in (303, 400, 403) for *_, status in load.labels_sent)
        # The new conversations show without a restart.
        after = count(db, "select count(*) from fct_conversations")
        late = count(db, "select conversation_id from fct_conversations where conversation_id like 'late-%' limit 1")
        assert after == before + NEW_ROWS
        shown = load.request("conversation", f"/conversations/kimi/{late}")
        assert shown.status == 200 and late in shown.body
        listing = load.request("list", "/conversations").body
        assert int(re.search(r'<span id="total">(\d+)</span>', listing).group(1)) == after
