"""Response times of `traces serve` on a built warehouse, through the app itself (no network)."""

from __future__ import annotations

import statistics
import time
from pathlib import Path

import duckdb

from foundation.warehouse import one_row
from reports.web.app import create_app

REPEATS = 5


def _timed(client, url: str, params: dict | None = None) -> float:
    started = time.perf_counter()
    response = client.get(url, query_string=params or {})
    elapsed = time.perf_counter() - started
    if response.status_code != 200:
        raise RuntimeError(f"GET {url} {params or ''} answered {response.status_code}")
    return elapsed * 1000


def _pages(db: Path) -> dict[str, tuple[str, dict]]:
    con = duckdb.connect(str(db), read_only=True)
    try:
        largest = one_row(
            con, "select source_config, conversation_id from fct_conversations order by n_message_chars desc limit 1"
        )
        typical = one_row(
            con,
            "select source_config, conversation_id from fct_conversations "
            "order by abs(n_message_chars - (select median(n_message_chars) from fct_conversations)) limit 1",
        )
        word = one_row(
            con,
            "select split_part(trim(thought), ' ', 3) from fct_thoughts where n_chars > 200 order by thought_key desc limit 1",
        )[0]
    finally:
        con.close()
    return {
        "list page": ("/conversations", {}),
        "list, filtered and sorted": ("/conversations", {"config": largest[0], "has_error": "1", "sort": "n_tool_calls", "order": "desc", "page": "3"}),
        "conversation page (median size)": (f"/conversations/{typical[0]}/{typical[1]}", {}),
        "conversation page (largest)": (f"/conversations/{largest[0]}/{largest[1]}", {}),
        "report page": ("/report/errors", {}),
        "text search, lowercase: any case (a word from a thought)": ("/conversations", {"q": word.lower()}),
        "text search, lowercase: any case (no match)": ("/conversations", {"q": "zq-no-such-text-xj"}),
        "text search, with a capital: exact case (no match)": ("/conversations", {"q": "Zq-No-Such-Text-Xj"}),
    }


def serve_timings(db: Path) -> dict[str, dict[str, int]]:
    """Median and slowest of REPEATS requests per page, in ms (after one warm-up each)."""
    client = create_app(db).test_client()
    results = {}
    for name, (url, params) in _pages(db).items():
        _timed(client, url, params)
        times = [_timed(client, url, params) for _ in range(REPEATS)]
        results[name] = {"median_ms": round(statistics.median(times)), "max_ms": round(max(times))}
    return results
