"""What the curation models (#30: error signatures, schema checks, near-duplicates) add to a build.

`python -m bench.curation target/run_results.json` reads dbt's own timings of a `traces build`
(one dbt thread: the nodes run one after another, so their times add up to the build's) and
prints each curation node, their sum with their data tests, and that sum's share of all nodes.
"""

from __future__ import annotations

import json
from pathlib import Path

import typer

CURATION_MODELS = (
    "int_tool_error_signatures",
    "fct_error_signatures",
    "rpt_error_signatures",
    "int_tool_call_schema_checks",
    "rpt_schema_issues",
    "int_near_duplicate_task_texts",
    "int_near_duplicate_trajectory_texts",
    "int_near_duplicate_signatures",
    "int_near_duplicate_clusters",
    "dim_near_duplicate_clusters",
    "rpt_near_duplicate_cluster_sizes",
    "rpt_largest_near_duplicate_clusters",
)


def curation_share(run_results: Path) -> dict:
    results = json.loads(run_results.read_text(encoding="utf-8"))["results"]
    total = sum(r["execution_time"] for r in results)
    models = {r["unique_id"].split(".")[-1]: r["execution_time"] for r in results if r["unique_id"].startswith("model.")}
    # A data test's unique_id names the test, not the model: the test nodes are matched by name.
    tests = sum(
        r["execution_time"]
        for r in results
        if r["unique_id"].startswith("test.") and any(model in r["unique_id"] for model in CURATION_MODELS)
    )
    per_model = {name: models[name] for name in CURATION_MODELS if name in models}
    curation = sum(per_model.values()) + tests
    return {"nodes_s": total, "curation_s": curation, "curation_tests_s": tests, "share": curation / total, "models": per_model}


def main(run_results: Path) -> None:
    figures = curation_share(run_results)
    for name, seconds in figures["models"].items():
        print(f"{name:40} {seconds:7.2f} s")
    print(f"{'their data tests':40} {figures['curation_tests_s']:7.2f} s")
    print(f"curation {figures['curation_s']:.2f} s of {figures['nodes_s']:.2f} s in nodes: {figures['share']:.1%}")


if __name__ == "__main__":
    typer.run(main)
