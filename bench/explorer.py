"""The explorer's search index, search, compare and label writes on a built warehouse.

`python -m bench.explorer WAREHOUSE` (from the repository root) measures one warehouse; the main
benchmark (`python -m bench`) calls ``explorer_timings`` on the warehouse it built. The index is
built from scratch by the real `traces index` (wall time and the process tree's peak RSS), then
updated once with nothing new; requests go through the app itself (no network), after a warm-up.
"""

from __future__ import annotations

import shutil
import statistics
import sys
import time
from pathlib import Path

import duckdb
import typer

from bench.measure import measure
from foundation.labels import LabelStore
from foundation.paths import labels_path, search_index_path
from foundation.warehouse import one_row
from reports.web.app import create_app

REPEATS = 5


def _traces() -> str:
    return str(Path(sys.executable).parent / "traces")


def _queries(db: Path) -> list[dict[str, str]]:
    """Twenty mixed queries: common and rare words, phrases, exclusions, field queries, filters."""
    con = duckdb.connect(str(db), read_only=True)
    try:
        rare = [
            word for (word,) in con.execute(
                "select split_part(trim(thought), ' ', 4) from fct_thoughts where n_words > 20 "
                "order by hash(thought_key) limit 3"
            ).fetchall()
        ]
        tool = one_row(con, "select tool_name from dim_tools order by n_calls desc limit 1")[0]
        config = one_row(con, "select min(source_config) from fct_conversations")[0]
    finally:
        con.close()
    words = [{"q": "error"}, {"q": "file"}, {"q": "the"}, {"q": "nginx"}, {"q": "permission denied"}, {"q": "python test"}]
    phrases = [{"q": '"No such file or directory"'}, {"q": '"tests failed"'}, {"q": '"let me check"'}, {"q": '"the file"'}]
    fields = [
        {"q": "thoughts:file"}, {"q": "outputs:error"}, {"q": f"calls:{tool.split('_')[0]}"}, {"q": "answers:done"},
        {"q": "error", "in": "task"},
    ]
    mixed = [{"q": "error -failed"}, {"q": "error", "config": config, "tool": tool}]
    return words + phrases + fields + mixed + [{"q": word} for word in rare]


def _ms(client, method: str, url: str, **kwargs) -> float:
    started = time.perf_counter()
    response = getattr(client, method)(url, **kwargs)
    elapsed = (time.perf_counter() - started) * 1000
    if response.status_code not in (200, 303):
        raise RuntimeError(f"{method.upper()} {url} answered {response.status_code}")
    return elapsed


def _percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(int(round(share * (len(ordered) - 1))), len(ordered) - 1)]


def _folder_mb(folder: Path) -> float:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file()) / 1e6


def explorer_timings(db: Path, rebuild_index: bool = True) -> dict:
    index_dir = search_index_path(db)
    results: dict = {}
    if rebuild_index:
        shutil.rmtree(index_dir, ignore_errors=True)
        built = measure([_traces(), "index", "--db", str(db)])
        results["index_build_s"] = round(built.wall_seconds, 1)
        results["index_peak_rss_mb"] = round(built.peak_rss_mb)
    results["index_mb"] = round(_folder_mb(index_dir))
    results["warehouse_mb"] = round(db.stat().st_size / 1e6)
    again = measure([_traces(), "index", "--db", str(db)])
    results["index_update_unchanged_s"] = round(again.wall_seconds, 1)

    app = create_app(db)
    client = app.test_client()
    search_ms: list[float] = []
    per_query: dict[str, float] = {}
    for params in _queries(db):
        _ms(client, "get", "/search", query_string=params)
        times = [_ms(client, "get", "/search", query_string=params) for _ in range(REPEATS)]
        search_ms += times
        per_query[" ".join(f"{k}={v}" for k, v in params.items())] = round(statistics.median(times), 1)
    results["search_p50_ms"] = round(_percentile(search_ms, 0.5), 1)
    results["search_p95_ms"] = round(_percentile(search_ms, 0.95), 1)
    results["search_max_ms"] = round(max(search_ms), 1)
    results["search_by_query_ms"] = per_query
    list_ms = [_ms(client, "get", "/conversations", query_string={"q": q}) for q in ("error", "nginx", '"tests failed"') for _ in range(3)]
    results["list_search_p50_ms"] = round(_percentile(list_ms, 0.5), 1)

    con = duckdb.connect(str(db), read_only=True)
    try:
        pairs = con.execute(
            "select a.source_config || '/' || a.conversation_id, b.source_config || '/' || b.conversation_id "
            "from fct_conversations a join fct_conversations b on a.task = b.task and a.source_config < b.source_config "
            "order by a.n_message_chars desc limit 5"
        ).fetchall()
        targets = con.execute(
            "select source_config, conversation_id from fct_conversations order by hash(conversation_id) limit 20"
        ).fetchall()
    finally:
        con.close()
    _ms(client, "get", "/compare", query_string={"a": pairs[0][0], "b": pairs[0][1]})  # loads the tokenizer
    compare_ms = [_ms(client, "get", "/compare", query_string={"a": a, "b": b}) for a, b in pairs for _ in range(2)]
    results["compare_median_ms"] = round(statistics.median(compare_ms), 1)
    results["compare_max_ms"] = round(max(compare_ms), 1)

    store = LabelStore(labels_path(db))
    token = app.config["CSRF_TOKEN"]
    label_ms = [
        _ms(client, "post", f"/conversations/{config}/{cid}/labels", data={"label": "bench", "csrf_token": token})
        for config, cid in targets
    ]
    results["label_write_median_ms"] = round(statistics.median(label_ms), 1)
    results["label_write_max_ms"] = round(max(label_ms), 1)
    for config, cid in targets:
        store.remove(config, cid, "bench")
    return results


def render_explorer(results: dict) -> str:
    lines = [
        "| explorer | value |", "|---|---|",
        f"| index build (traces index, from scratch) | {results.get('index_build_s', '')} s, peak {results.get('index_peak_rss_mb', '')} MB |",
        f"| index size / warehouse size | {results['index_mb']} MB / {results['warehouse_mb']} MB |",
        f"| index update, nothing new | {results['index_update_unchanged_s']} s |",
        f"| search, 20 mixed queries x {REPEATS}: p50 / p95 / max | {results['search_p50_ms']} / {results['search_p95_ms']} / {results['search_max_ms']} ms |",
        f"| list with q through the index, median | {results['list_search_p50_ms']} ms |",
        f"| compare page: median / max | {results['compare_median_ms']} / {results['compare_max_ms']} ms |",
        f"| label write (POST): median / max | {results['label_write_median_ms']} / {results['label_write_max_ms']} ms |",
    ]
    return "\n".join(lines)


def main(db: Path, rebuild_index: bool = typer.Option(True, help="Build the index from scratch first.")) -> None:
    import json

    results = explorer_timings(db, rebuild_index)
    typer.echo(render_explorer(results))
    typer.echo(json.dumps(results["search_by_query_ms"], indent=2))


if __name__ == "__main__":
    typer.run(main)
