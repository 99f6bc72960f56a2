"""What several test modules use: the CLI runner, JSONL writing, and lines of every bad and flagged kind."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from ingest.synthetic.generator import generate

BIN = Path(sys.executable).parent


def run_cli(*args: str, env: dict | None = None, check: bool = False) -> subprocess.CompletedProcess:
    """Run the installed `traces` console script."""
    result = subprocess.run(
        [str(BIN / "traces"), *args], capture_output=True, text=True, env={**os.environ, **(env or {})}
    )
    if check and result.returncode != 0:
        raise AssertionError(f"traces {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}")
    return result


def write_jsonl(path: Path, rows: list[dict]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


GOOD = [row for _, row in generate(6, seed=21)]
# The summaries the CLI prints and IngestResult carries, spelled out: a test must fail if the
# loader's constants ever say something else.
SUPERSEDED = "duplicate id: superseded by a later row"
DUPLICATE_IN_INPUT = "duplicate id within the input"


def good_line(i: int = 0) -> str:
    return json.dumps(GOOD[i])


def one_turn(**turn) -> str:
    return json.dumps({"id": "x", "conversations": [turn], "tools": "[]"})


# (case, line, reason fragment or None when the row loads flagged)
BAD_LINES = [
    ("truncated_json", good_line()[: len(good_line()) // 2], "invalid JSON"),
    ("not_json", "this is not json", "invalid JSON"),
    ("array", "[1, 2, 3]", "got an array"),
    ("scalar", "42", "got"),
    ("missing_conversations", json.dumps({"id": "a", "tools": "[]"}), 'missing field "conversations"'),
    ("missing_id", json.dumps({"conversations": [{"from": "human", "value": "hi"}]}), 'missing field "id"'),
    ("conversations_not_list", json.dumps({"id": "a", "conversations": "hello"}), "not a list of turns"),
    ("turn_without_value", one_turn(**{"from": "human"}), 'missing "value"'),
    ("turn_without_from", one_turn(value="hi"), 'missing "from"'),
    ("value_not_string", one_turn(**{"from": "human", "value": 3}), "not a string"),
]
FLAGGED_LINES = [
    ("unknown_role", json.dumps({"id": "r1", "conversations": [{"from": "observer", "value": "hi"}], "tools": "[]"}), "unknown_role:observer"),
    ("extra_field", json.dumps({"id": "r2", "conversations": [{"from": "human", "value": "hi"}], "tools": "[]", "source": "x"}), "extra_fields:source"),
    ("missing_tools", json.dumps({"id": "r3", "conversations": [{"from": "human", "value": "hi"}]}), "missing_tools"),
    ("tools_not_json", json.dumps({"id": "r4", "conversations": [{"from": "human", "value": "hi"}], "tools": "[{"}), "invalid_tools_json"),
]


def report_pages(folder: Path) -> dict[str, list[str]]:
    """Each report page's lines, without the header line that names the warehouse and the time."""
    return {
        page.name: [line for line in page.read_text().splitlines() if not line.startswith("_Warehouse `")]
        for page in sorted(folder.glob("*.md"))
    }


def assert_same_report(spark_folder: Path, duck_folder: Path) -> None:
    """Spark's report is DuckDB's, page for page, line for line and chart for chart."""
    assert report_pages(spark_folder) == report_pages(duck_folder)
    assert {p.name for p in (spark_folder / "charts").iterdir()} == {p.name for p in (duck_folder / "charts").iterdir()}


# The manifest keys whose values depend on the engine or the run, not on the rows.
RUN_MANIFEST_KEYS = {"created_at", "sha256", "source"}


def assert_same_export(duck_dir: Path, spark_dir: Path, fmt: str) -> int:
    """The two exports of ``fmt`` hold the same rows (as parsed JSON, in any order; for a format
    whose ids are in a sidecar file, the same id beside each row) and manifests that agree on
    every count. Returns the number of rows."""

    def rows(folder: Path) -> list[str]:
        lines = (folder / f"{fmt}.jsonl").read_text(encoding="utf-8").splitlines()
        parsed = [json.dumps(json.loads(line), sort_keys=True) for line in lines]
        ids_file = folder / f"{fmt}.ids.txt"
        if ids_file.exists():
            ids = ids_file.read_text(encoding="utf-8").splitlines()
            assert len(ids) == len(parsed)
            parsed = [f"{i}\t{row}" for i, row in zip(ids, parsed, strict=True)]
        return sorted(parsed)

    duck_rows, spark_rows = rows(duck_dir), rows(spark_dir)
    assert duck_rows, f"{fmt}: no rows; the comparison would prove nothing"
    assert duck_rows == spark_rows, f"{fmt}: {len(set(duck_rows) ^ set(spark_rows))} rows differ"
    duck_manifest = json.loads((duck_dir / f"{fmt}.manifest.json").read_text())
    spark_manifest = json.loads((spark_dir / f"{fmt}.manifest.json").read_text())
    assert {k: v for k, v in duck_manifest.items() if k not in RUN_MANIFEST_KEYS} == {
        k: v for k, v in spark_manifest.items() if k not in RUN_MANIFEST_KEYS
    }
    assert duck_manifest["source"]["rows_by_config"] == spark_manifest["source"]["rows_by_config"]
    return len(duck_rows)

