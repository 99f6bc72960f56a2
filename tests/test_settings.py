"""One set of DuckDB runtime settings (threads, memory limit, row-group size, spill directory)
for ingest, dbt and export, read from the TRACES_* variables."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import duckdb
import pytest

from foundation import warehouse
from foundation.errors import SettingError
from foundation.paths import PROJECT_DIR
from foundation.settings import (
    DEFAULT_MEMORY_LIMIT,
    DEFAULT_ROW_GROUP_SIZE,
    DEFAULT_THREADS,
    RuntimeSettings,
)
from foundation.warehouse import one_row
from ingest.loader import INGEST_MEMORY_SHARE, ingest
from ingest.synthetic.generator import generate
from reports.exports import ExportOptions, export
from reports.exports import writer as export_writer
from tests.helpers import run_cli, write_jsonl
from transform.build import dbt_executable, run_dbt

CUSTOM = {
    "TRACES_THREADS": "3",
    "TRACES_MEMORY_LIMIT": "900MB",
    "TRACES_ROW_GROUP_SIZE": "4096",
}


def _as_duckdb_reports(memory_limit: str) -> str:
    con = duckdb.connect(config={"memory_limit": memory_limit})
    try:
        return one_row(con, "select current_setting('memory_limit')")[0]
    finally:
        con.close()


def _observed(con: duckdb.DuckDBPyConnection) -> dict:
    threads, memory, temp = one_row(
        con, "select current_setting('threads'), current_setting('memory_limit'), current_setting('temp_directory')"
    )
    return {"threads": threads, "memory_limit": memory, "temp_directory": temp}


def _row_groups_of_probe(con: duckdb.DuckDBPyConnection, rows: int) -> int:
    con.execute("create or replace table runtime_settings_probe as select range as i from range($n)", {"n": rows})
    groups = one_row(con, "select count(distinct row_group_id) from pragma_storage_info('runtime_settings_probe')")[0]
    con.execute("drop table runtime_settings_probe")
    return groups


def _dbt_settings(db: Path, probe_rows: int, env: dict[str, str] | None = None) -> dict:
    """What dbt's own DuckDB session runs with: via the CLI's runner, or (``env``) a hand-run dbt."""
    args = ["run-operation", "runtime_settings", "--args", json.dumps({"probe_rows": probe_rows})]
    if env is None:
        output = run_dbt(db, ["--quiet", *args], echo=False)
    else:
        warehouse.create_if_missing(db)
        output = subprocess.run(
            [dbt_executable(), "--quiet", *args, "--project-dir", str(PROJECT_DIR), "--profiles-dir", str(PROJECT_DIR)],
            cwd=PROJECT_DIR, env=env, capture_output=True, text=True, check=True,
        ).stdout
    return json.loads(output.strip().splitlines()[-1])


def test_defaults_are_two_threads_one_gigabyte_and_small_row_groups():
    settings = RuntimeSettings.from_env({})
    assert (settings.threads, settings.memory_limit, settings.row_group_size) == (2, "1GB", 2048)
    assert settings.spill_dir_for(Path("/data/w.duckdb")) == Path("/data/w.duckdb.tmp")
    assert RuntimeSettings.from_env({"TRACES_SPILL_DIR": "/scratch"}).spill_dir_for(Path("/data/w.duckdb")) == Path("/scratch")


@pytest.mark.parametrize("name, value", [("TRACES_THREADS", "many"), ("TRACES_THREADS", "0"), ("TRACES_ROW_GROUP_SIZE", "-1")])
def test_a_bad_setting_is_a_clear_error(tmp_path, name, value):
    with pytest.raises(SettingError, match=name):
        RuntimeSettings.from_env({name: value})
    result = run_cli("ingest", "sample", "--limit", "1", "--db", str(tmp_path / "w.duckdb"), env={name: value})
    assert result.returncode == 1 and name in result.stderr and "Traceback" not in result.stderr


def test_ingest_build_and_export_use_the_same_settings(tmp_path, monkeypatch, sample_db):
    for name, value in CUSTOM.items():
        monkeypatch.setenv(name, value)
    spill = tmp_path / "spill"
    monkeypatch.setenv("TRACES_SPILL_DIR", str(spill))
    expected = {"threads": 3, "temp_directory": str(spill)}
    probe_rows = 3 * int(CUSTOM["TRACES_ROW_GROUP_SIZE"])

    seen: dict[str, dict] = {}
    real_connect, real_scratch = warehouse.connect, warehouse.connect_with_scratch

    def spy_connect(path, *args, **kwargs):
        con = real_connect(path, *args, **kwargs)
        if "ingest" not in seen and kwargs.get("memory_limit"):
            seen["ingest"] = {**_observed(con), "probe_row_groups": _row_groups_of_probe(con, probe_rows)}
        return con

    def spy_scratch(path, scratch, *args, **kwargs):
        con = real_scratch(path, scratch, *args, **kwargs)
        seen["export"] = _observed(con)
        return con

    real_concurrent = export_writer.concurrent_batches

    def spy_concurrent(con, fmt):
        seen["export"]["cursors"] = real_concurrent(con, fmt)
        return seen["export"]["cursors"]

    monkeypatch.setattr(warehouse, "connect", spy_connect)
    monkeypatch.setattr(warehouse, "connect_with_scratch", spy_scratch)
    monkeypatch.setattr(export_writer, "concurrent_batches", spy_concurrent)

    db = tmp_path / "w.duckdb"
    rows = [row for _, row in generate(4, seed=2)]
    ingest(db, [str(write_jsonl(tmp_path / "rows.jsonl", rows))])
    dbt = _dbt_settings(db, probe_rows)
    export(sample_db, tmp_path / "exports", ["trl-messages"], ExportOptions(tokenizer=None))

    ingest_share = warehouse.share_of_memory_limit(INGEST_MEMORY_SHARE, CUSTOM["TRACES_MEMORY_LIMIT"])
    assert seen["ingest"] == {**expected, "memory_limit": _as_duckdb_reports(ingest_share), "probe_row_groups": 3}
    assert {k: dbt[k] for k in ("threads", "memory_limit", "temp_directory", "probe_row_groups")} == {
        **expected, "memory_limit": _as_duckdb_reports(CUSTOM["TRACES_MEMORY_LIMIT"]), "probe_row_groups": 3
    }
    assert seen["export"] == {**expected, "memory_limit": _as_duckdb_reports(CUSTOM["TRACES_MEMORY_LIMIT"]), "cursors": 3}


@pytest.mark.integration
def test_the_profile_defaults_are_the_settings_defaults(tmp_path):
    # A hand-run `dbt build` reads profiles.yml's own defaults: they must be the module's.
    db = tmp_path / "w.duckdb"
    env = {k: v for k, v in os.environ.items() if not k.startswith("TRACES_")} | {"TRACES_DB": str(db)}
    dbt = _dbt_settings(db, 3 * DEFAULT_ROW_GROUP_SIZE, env=env)
    assert dbt["threads"] == DEFAULT_THREADS
    assert dbt["memory_limit"] == _as_duckdb_reports(DEFAULT_MEMORY_LIMIT)
    assert dbt["temp_directory"] == str(RuntimeSettings().spill_dir_for(db))
    assert dbt["probe_row_groups"] == 3
    # Long text is compressed the same way whichever process writes it.
    assert dbt["zstd_min_string_length"] == warehouse.ZSTD_MIN_STRING_LENGTH


@pytest.mark.parametrize("name", ["raw.duckdb", "main.duckdb", "staging.db"])
def test_a_warehouse_named_like_a_schema_is_refused_with_the_name_to_use(tmp_path, name):
    db = tmp_path / name
    result = run_cli("ingest", "sample", "--db", str(db))
    assert result.returncode != 0
    assert "like one of its schemas" in result.stderr and f"traces_{name}" in result.stderr
    assert "Traceback" not in result.stderr
    assert not db.exists()
