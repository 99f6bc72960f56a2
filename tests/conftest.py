"""Shared fixtures: real warehouses built by the real ingest and a real `dbt build`."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import pytest

from ingest.loader import ingest
from ingest.synthetic.generator import generate
from reports.exports import ExportOptions, export
from tests.helpers import write_jsonl
from transform.build import build

# Fixtures that build a warehouse with dbt: a test using one belongs to the integration tier
# (`make test-fast` leaves it out); modules and tests that build on their own are marked there.
BUILT_WAREHOUSE_FIXTURES = {"sample_db", "sample_target", "sample_exports", "kimi_only_db", "hostile_db"}


# `make test` runs the integration tier on four workers (pytest-xdist, `--dist loadgroup`), groups of
# modules each whole on one worker: each Spark module alone; the Evidence build alone; the web app's
# HTTP and browser tests with two modules that build warehouses of their own; everything else
# together, so that the sample's build (a session fixture) is made on as few workers as possible.
SPARK_MODULES = {"test_spark.py", "test_spark_cluster.py"}
# Evidence's install, data step and build (Node) with its Chromium checks: a group of its own.
EVIDENCE_MODULE = "test_evidence.py"
EXPLORER_GROUP = {
    "test_explorer.py", "test_browser.py", "test_web.py", "test_incremental.py", "test_parser_properties.py", "test_serve_while_building.py",
}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if BUILT_WAREHOUSE_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.integration)


def pytest_xdist_make_scheduler(config: pytest.Config, log):
    """With `--dist loadgroup`: each Spark module, the explorer's group and the rest, each whole on
    one worker (`make test` starts four).

    A scheduler of our own rather than `xdist_group` marks: xdist 3.8 groups by rewriting
    ``item._nodeid``, which pytest 9.2's items no longer read.
    """
    if config.getvalue("dist") != "loadgroup":
        return None
    from xdist.scheduler import LoadScopeScheduling

    class SparkApart(LoadScopeScheduling):
        def _split_scope(self, nodeid: str) -> str:
            module = nodeid.split("::")[0].rsplit("/", 1)[-1]
            if module in EXPLORER_GROUP:
                return "explorer"
            if module == EVIDENCE_MODULE:
                return "evidence"
            return module if module in SPARK_MODULES else "duckdb"

    return SparkApart(config, log)


# The tests' JVMs (Spark sessions, the cluster's daemons and executors) are short-lived and share
# two cores with everything else: the client compiler alone and one GC thread cut their CPU by a
# third (the Spark fixture: 290 -> 195 CPU-seconds) and change nothing they compute.
TEST_JAVA_OPTIONS = "-XX:TieredStopAtLevel=1 -XX:+UseSerialGC"


def pytest_configure(config: pytest.Config) -> None:
    os.environ.setdefault("JAVA_TOOL_OPTIONS", TEST_JAVA_OPTIONS)
    # Each worker's dbt runs write their artifacts and logs apart: two dbt processes at once in
    # the project's target/ would read each other's half-written partial-parse file.
    worker = os.environ.get("PYTEST_XDIST_WORKER")
    if worker:
        scratch = Path(tempfile.mkdtemp(prefix=f"dbt-{worker}-"))
        os.environ["DBT_TARGET_PATH"] = str(scratch / "target")
        os.environ["DBT_LOG_PATH"] = str(scratch / "logs")
        config.add_cleanup(lambda: shutil.rmtree(scratch, ignore_errors=True))


@pytest.fixture(scope="session")
def sample_db(tmp_path_factory) -> Path:
    """The embedded sample, ingested and built; dbt's artifacts in ``sample_target``."""
    db = tmp_path_factory.mktemp("sample") / "warehouse.duckdb"
    ingest(db, ["sample"])
    build(db, echo=False, target_path=db.parent / "target")
    return db


@pytest.fixture(scope="session")
def sample_target(sample_db) -> Path:
    """dbt's target path of the sample's build (manifest, compiled SQL), apart from the repository's ``target/``."""
    return sample_db.parent / "target"


@pytest.fixture(scope="session")
def sample_exports(sample_db, tmp_path_factory) -> dict:
    """Every export format of the sample, default filters."""
    out = tmp_path_factory.mktemp("exports")
    results = export(sample_db, out, ["all"], ExportOptions())
    return {r.format: r for r in results}


@pytest.fixture(scope="session")
def kimi_only_db(tmp_path_factory) -> Path:
    """A small warehouse with kimi rows only, one of them duplicated under another id, four copied
    under another id with every thought begun otherwise (the same trajectory, calls and arguments,
    thought through in other words: near-duplicates that exact dedup keeps), and one whose only
    turn has a role no structured format can render."""
    root = tmp_path_factory.mktemp("kimi_only")
    rows = [row for config, row in generate(80, seed=11) if config == "kimi"]
    duplicate = dict(rows[-1], id="kimi-duplicate-of-last")
    reruns = [
        dict(
            row,
            id=row["id"] + "-rerun",
            conversations=[
                dict(turn, value=turn["value"].replace("<think>", "<think>On second thought: ")) if turn["from"] == "gpt" else turn
                for turn in row["conversations"]
            ],
        )
        for row in rows[1:5]
    ]
    observer_only = dict(rows[0], id="kimi-observer-only", conversations=[{"from": "observer", "value": "watching"}])
    write_jsonl(root / "kimi.jsonl", rows + [duplicate, *reruns, observer_only])
    db = root / "warehouse.duckdb"
    ingest(db, [str(root / "kimi.jsonl")], config="kimi")
    build(db, echo=False)
    return db
