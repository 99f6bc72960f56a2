"""The `traces` command: help everywhere, clear errors, the main job end to end."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from foundation.errors import BuildFailed
from tests.helpers import run_cli
from transform.build import PreparedBuild, build


@pytest.mark.parametrize("command", ["", "ingest", "build", "report", "export", "run", "sample"])
def test_every_command_has_help(command):
    result = run_cli(*([command] if command else []), "--help")
    assert result.returncode == 0
    assert "Usage" in result.stdout


def test_the_benchmark_runs_from_the_repository_and_is_not_installed():
    from foundation.paths import PROJECT_DIR

    result = subprocess.run(
        [sys.executable, "-m", "bench", "--help"], cwd=PROJECT_DIR, capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr
    assert "--rows" in result.stdout
    elsewhere = subprocess.run(
        [sys.executable, "-c", "import bench"], cwd=PROJECT_DIR.parent, capture_output=True, text=True, check=False
    )
    assert elsewhere.returncode != 0, "bench is importable outside the repository: it is installed"


def test_missing_source_is_a_message_not_a_traceback(tmp_path):
    result = run_cli("ingest", str(tmp_path / "nope.jsonl"), "--db", str(tmp_path / "w.duckdb"))
    assert result.returncode == 1
    assert "error:" in result.stderr and "no such file" in result.stderr
    assert "Traceback" not in result.stderr


def test_a_uri_out_is_for_spark_and_says_so(tmp_path):
    result = run_cli("export", "--db", str(tmp_path / "w.duckdb"), "--out", "s3a://bucket/exports")
    assert result.returncode == 1
    assert "--out s3a://bucket/exports" in result.stderr and "--target spark" in result.stderr
    assert not (tmp_path / "s3a:").exists() and not Path("s3a:").exists()


def test_sample_command_writes_the_hub_layout(tmp_path):
    run_cli("sample", "--rows", "10", "--out", str(tmp_path), "--format", "parquet", check=True)
    assert (tmp_path / "data" / "kimi" / "train.parquet").exists()
    assert (tmp_path / "data" / "glm-5.1" / "train.parquet").exists()


def test_sample_is_deterministic(tmp_path):
    run_cli("sample", "--rows", "20", "--out", str(tmp_path / "a"), "--seed", "3", check=True)
    run_cli("sample", "--rows", "20", "--out", str(tmp_path / "b"), "--seed", "3", check=True)
    for config in ("kimi", "glm-5.1"):
        a = (tmp_path / "a" / "data" / config / "train.jsonl").read_bytes()
        b = (tmp_path / "b" / "data" / config / "train.jsonl").read_bytes()
        assert a == b


@pytest.mark.integration
def test_run_twice_gives_the_same_marts(tmp_path):
    db, out = tmp_path / "w.duckdb", tmp_path / "out"
    run_cli("sample", "--rows", "30", "--out", str(tmp_path / "src"), check=True)
    snapshots = []
    for _ in range(2):
        result = run_cli("run", str(tmp_path / "src"), "--db", str(db), "--out", str(out), check=True)
        assert "reports:" in result.stdout and "exports:" in result.stdout
        con = duckdb.connect(str(db), read_only=True)
        snapshots.append(
            con.execute(
                "select count(*), sum(n_tool_calls), sum(n_thoughts), sum(n_tool_errors) from fct_conversations"
            ).fetchone()
            + con.execute("select count(*) from raw.conversations").fetchone()
        )
        con.close()
    assert snapshots[0] == snapshots[1] and snapshots[0][0] == 30
    assert (out / "reports" / "index.md").exists()
    assert (out / "exports" / "trl-messages.jsonl").exists()


@pytest.mark.integration
def test_run_whose_ingest_fails_stops_the_waiting_build(tmp_path):
    db = tmp_path / "w.duckdb"
    result = run_cli("run", str(tmp_path / "nope.jsonl"), "--db", str(db), "--out", str(tmp_path / "out"))
    assert result.returncode == 1 and "no such file" in result.stderr
    assert not db.exists()  # the build, which would have created it, never ran


@pytest.mark.integration
def test_prepared_build_reports_dbt_errors(tmp_path):
    db = tmp_path / "empty.duckdb"
    with PreparedBuild(db, echo=False) as prepared:
        with pytest.raises(BuildFailed, match=r"(?s)dbt build failed.*schema \"raw\" does not exist"):
            prepared.run()


def test_a_parsing_model_from_an_earlier_version_asks_for_a_full_refresh_which_mends_it(sample_db, tmp_path):
    db = tmp_path / "upgraded.duckdb"
    shutil.copy(sample_db, db)
    con = duckdb.connect(str(db))
    con.execute("alter table intermediate.int_assistant_segments drop column conversation_seq")
    con.close()
    with pytest.raises(BuildFailed, match=r"traces build --full-refresh"):
        build(db, echo=False, select="int_assistant_segments")
    build(db, echo=False, select="int_assistant_segments", full_refresh=True)
    con = duckdb.connect(str(db), read_only=True)
    try:
        assert con.execute(
            "select count(*), count(conversation_seq) from intermediate.int_assistant_segments where segment_kind = 'think'"
        ).fetchone() == con.execute("select count(*), count(*) from main.fct_thoughts").fetchone()
    finally:
        con.close()
