"""Project rules checked over dbt's manifest: documented, tested, sources only in staging, contracts on marts."""

from __future__ import annotations

import json
import re
from pathlib import Path

import duckdb
import pytest

from foundation.warehouse import STORAGE_COMPATIBILITY_VERSION

PROJECT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def manifest(sample_target) -> dict:
    return json.loads((sample_target / "manifest.json").read_text())


def models(manifest: dict) -> list[dict]:
    return [n for n in manifest["nodes"].values() if n["resource_type"] == "model" and n["package_name"] == "trace_warehouse"]


def test_every_model_is_documented(manifest):
    missing = [m["name"] for m in models(manifest) if not m["description"].strip()]
    assert not missing


def test_every_mart_column_is_documented(manifest):
    undocumented = [
        f"{m['name']}.{c['name']}"
        for m in models(manifest)
        if m["name"].startswith(("fct_", "dim_"))
        for c in m["columns"].values()
        if not c["description"].strip()
    ]
    assert not undocumented
    for m in models(manifest):
        if m["name"].startswith(("fct_", "dim_")):
            assert m["columns"], f"{m['name']} lists no columns"


# Turn-level export views build every prompt from scratch on any query; a dbt test on them would
# cost minutes at full scale. tests/test_exports.py checks the files they produce instead.
UNTESTED_IN_DBT = {"sft_prompt_response", "sft_trl_prompt_completion"}


def test_every_model_has_a_test(manifest):
    tested = set()
    for node in manifest["nodes"].values():
        if node["resource_type"] in ("test", "unit_test"):
            tested.update(node.get("depends_on", {}).get("nodes", []))
    for node in manifest.get("unit_tests", {}).values():
        tested.update(node.get("depends_on", {}).get("nodes", []))
    untested = {m["name"] for m in models(manifest) if m["unique_id"] not in tested}
    assert untested == UNTESTED_IN_DBT


def test_sources_appear_only_in_staging(manifest):
    offenders = [
        m["name"] for m in models(manifest)
        if m["sources"] and not m["original_file_path"].startswith("models/staging/")
    ]
    assert not offenders


def test_marts_have_enforced_contracts(manifest):
    for m in models(manifest):
        if m["original_file_path"].startswith("models/marts/"):
            assert m["config"]["contract"]["enforced"], m["name"]


def test_parsing_models_have_unit_tests(manifest):
    unit_tested = {n["model"] for n in manifest.get("unit_tests", {}).values()}
    assert {"int_assistant_segments", "int_tool_calls", "int_tool_responses", "int_tool_call_links", "stg_tool_definitions", "stg_messages", "int_system_prompts"} <= unit_tested


def test_warehouse_stays_readable_by_duckdb_1_4_after_dbt_build(sample_db):
    con = duckdb.connect(str(sample_db), read_only=True)
    version = con.execute(
        "select tags['storage_version'] from duckdb_databases() where database_name = current_database()"
    ).fetchone()[0]
    con.close()
    assert version.startswith(STORAGE_COMPATIBILITY_VERSION)


def test_built_warehouse_opens_in_duckdb_1_4(sample_db):
    import os
    import subprocess
    import sys

    script = (
        "import duckdb, sys; c = duckdb.connect(sys.argv[1], read_only=True); "
        "print(duckdb.__version__, c.execute('select count(*) from fct_conversations').fetchone()[0])"
    )
    out = subprocess.run(
        [sys.executable, "-c", script, str(sample_db)], capture_output=True, text=True,
        env={**os.environ, "PYTHONPATH": str(PROJECT / ".venv" / "duckdb-1.4")},
    )
    assert out.returncode == 0, out.stderr
    version, n = out.stdout.split()
    assert version.startswith("1.4") and int(n) == 300


def test_marts_are_in_the_default_schema(sample_db):
    con = duckdb.connect(str(sample_db), read_only=True)
    tables = {r[0] for r in con.execute("select table_name from information_schema.tables where table_schema = 'main'").fetchall()}
    con.close()
    assert {"fct_tool_calls", "fct_thoughts", "fct_assistant_turns", "fct_conversations", "dim_tools"} <= tables


def test_every_analysis_compiles_and_answers(sample_db, tmp_path):
    from transform.build import run_dbt

    run_dbt(sample_db, ["compile", "--select", "resource_type:analysis"], echo=False, target_path=tmp_path)
    compiled = sorted((tmp_path / "compiled" / "trace_warehouse" / "analyses").glob("*.sql"))
    assert len(compiled) == len(list((PROJECT / "analyses").glob("*.sql"))) >= 8
    con = duckdb.connect(str(sample_db), read_only=True)
    for path in compiled:
        rows = con.execute(path.read_text()).fetchall()
        assert rows, path.name
    con.close()


def test_tables_are_written_in_small_row_groups_so_scans_use_every_core(sample_db, tmp_path):
    from foundation.settings import DEFAULT_ROW_GROUP_SIZE as ROW_GROUP_SIZE
    from foundation.warehouse import connect

    # A table dbt built (profiles.yml attaches the file with the option) ...
    con = duckdb.connect(str(sample_db), read_only=True)
    n_rows, n_groups = con.execute(
        "select (select count(*) from intermediate.int_tool_responses), "
        "count(distinct row_group_id) from pragma_storage_info('intermediate.int_tool_responses')"
    ).fetchone()
    con.close()
    assert n_rows > ROW_GROUP_SIZE and n_groups > 1
    # ... and one written through the CLI's own connections.
    con = connect(tmp_path / "w.duckdb")
    con.execute("create table t as select range as i from range(3 * $n)", {"n": ROW_GROUP_SIZE})
    assert con.execute("select count(distinct row_group_id) from pragma_storage_info('t')").fetchone()[0] >= 3
    con.close()


def test_spill_directory_is_set_once_per_dbt_session():
    # dbt-duckdb re-applies `settings` on every connection it opens, and DuckDB refuses to move a
    # temp directory it has already spilled to: a build large enough to spill then failed
    # ("Cannot switch temporary directory") until the directory moved to config_options.
    import yaml

    output = yaml.safe_load((Path(__file__).resolve().parent.parent / "profiles.yml").read_text())
    dev = output["trace_warehouse"]["outputs"]["dev"]
    assert "temp_directory" in dev["config_options"]
    assert "temp_directory" not in dev["settings"]


def _failures_of_compiled_test(manifest, target: Path, folder: str, test_prefix: str, model_name: str, rows_sql: str) -> list[tuple]:
    """Run a compiled data test of ``model_name`` against a table of ``rows_sql`` instead."""
    compiled = target / "compiled" / "trace_warehouse" / "models" / folder / f"_{folder}__models.yml"
    [path] = compiled.glob(f"{test_prefix}*.sql")
    model = next(n["relation_name"] for n in manifest["nodes"].values() if n["name"] == model_name)
    sql = path.read_text()
    assert model in sql
    con = duckdb.connect()
    try:
        con.execute(f"create table faulty as {rows_sql}")
        return sorted(con.execute(sql.replace(model, "faulty")).fetchall(), key=str)
    finally:
        con.close()


def test_primary_key_test_fails_on_a_null_and_on_a_repeat(manifest, sample_target):
    # The compiled primary_key test on a view, pointed at a table with one of each fault.
    failures = _failures_of_compiled_test(
        manifest, sample_target, "exports", "primary_key_sft_trl_messages_sample_id", "sft_trl_messages",
        "select * from (values ('a'), ('b'), ('b'), (null), ('c')) as t(sample_id)",
    )
    assert failures == sorted([("b", 2), (None, 1)], key=str)


def test_primary_key_test_on_several_columns_fails_on_a_null_in_any_and_on_a_repeat(manifest, sample_target):
    failures = _failures_of_compiled_test(
        manifest, sample_target, "staging", "primary_key_stg_messages_", "stg_messages",
        """
        select * from (values
            ('kimi', 'a', 0), ('kimi', 'a', 1), ('kimi', 'a', 1), ('glm', 'a', 1),
            (null, 'b', 0), ('kimi', null, 0), ('kimi', 'c', null)
        ) as t(source_config, conversation_id, message_index)
        """,
    )
    assert failures == sorted([("kimi", "a", 1, 2), (None, "b", 0, 1), ("kimi", None, 0, 1), ("kimi", "c", None, 1)], key=str)


def test_dbt_unit_tests_pass(sample_db, manifest, tmp_path):
    # `traces build` leaves them out (they test the SQL, not the data); the suite runs every one.
    from transform.build import run_dbt

    run_dbt(sample_db, ["test", "--select", "test_type:unit"], echo=False, target_path=tmp_path)
    n_unit_tests = len(manifest["unit_tests"])
    results = json.loads((tmp_path / "run_results.json").read_text())["results"]
    passed = [r["unique_id"] for r in results if r["unique_id"].startswith("unit_test.") and r["status"] == "pass"]
    assert n_unit_tests >= 8 and len(passed) == n_unit_tests


def test_not_null_constraints_of_marts_are_enforced_by_duckdb(sample_db, manifest):
    # Marts declare not_null as contract constraints instead of data tests: DuckDB refuses a
    # null at build time, with no query afterwards. Check the built tables carry them.
    declared = {
        (node["name"], column["name"])
        for node in models(manifest)
        if node["config"].get("contract", {}).get("enforced") and node["config"]["materialized"] in ("table", "incremental")
        for column in node["columns"].values()
        if any(c["type"] == "not_null" for c in column.get("constraints", []))
    }
    con = duckdb.connect(str(sample_db), read_only=True)
    enforced = set(con.execute(
        "select table_name, column_name from information_schema.columns "
        "where table_schema = 'main' and is_nullable = 'NO'"
    ).fetchall())
    con.close()
    assert len(declared) >= 15 and declared <= enforced


def test_not_null_constraints_of_mart_views_are_data_tests(manifest):
    # A view takes no NOT NULL: the not_null_constraints test checks its declared constraints.
    views = {
        node["unique_id"] for node in models(manifest)
        if node["config"]["materialized"] == "view" and node["config"].get("contract", {}).get("enforced")
        and any(c["type"] == "not_null" for column in node["columns"].values() for c in column.get("constraints", []))
    }
    tested = {
        node["attached_node"] for node in manifest["nodes"].values()
        if node["resource_type"] == "test" and node.get("test_metadata", {}).get("name") == "not_null_constraints"
    }
    assert "model.trace_warehouse.fct_tool_calls" in views and views <= tested


def _build_side_tables(node: dict, on_build_side: bool = False) -> set[str]:
    """Tables a plan scans on the build (hashed) side of some hash join."""
    found: set[str] = set()
    name = node.get("name", "")
    info = node.get("extra_info", {})
    if "SCAN" in name and on_build_side and info.get("Table"):
        found.add(info["Table"].split(".", 1)[1])
    children = node.get("children", [])
    for position, child in enumerate(children):
        found |= _build_side_tables(child, on_build_side or ("HASH_JOIN" in name and position == 1))
    return found


@pytest.mark.parametrize("model, wide_table", [("fct_tool_calls", "intermediate.int_tool_calls")])
def test_wide_tables_are_streamed_never_hashed(sample_db, sample_target, manifest, model, wide_table):
    # A hash join holds its build side in memory: the table carrying a model's text (call
    # bodies and arguments here) must be the side DuckDB streams. Hashed, it ran out of memory
    # at 60,000 real-shaped rows.
    [node] = [n for n in models(manifest) if n["name"] == model]
    sql = (sample_target / "compiled" / "trace_warehouse" / node["original_file_path"]).read_text()
    # The compiled SQL names its catalog after the warehouse file; attach the sample under that name.
    con = duckdb.connect()
    try:
        con.execute(f"attach '{sample_db}' as \"{node['database']}\" (read_only)")
        con.execute(f"use \"{node['database']}\"")
        plan = json.loads(con.execute("explain (format json) " + sql).fetchall()[0][1])
    finally:
        con.close()
    assert wide_table.split(".")[1] in json.dumps(plan)
    assert wide_table not in set().union(*(_build_side_tables(n) for n in plan))


# DuckDB-only SQL that Spark reads differently or not at all; models say it through the
# engine macros (macros/engine.sql, macros/json.sql) instead.
ENGINE_SPECIFIC_SQL = re.compile(
    r"->|\bjson_(type|valid|transform|extract|object|keys)\s*\(|\bto_json\s*\(|::json\b|::varchar\b|\blambda\b"
    r"|\bregexp_matches\s*\(|\bstring_split\w*\s*\(|\bstring_agg\s*\(|\barg_max\s*\(|\blist\w*\s*\(|\bunnest\s*\("
    r"|\bgenerate_subscripts\s*\(|\blen\s*\(|\bstarts_with\s*\(|\bexclude\s*\(|\breplace\s*\(\s*\w+\s+as\b"
    r"|\bdistinct on\b|'g'\s*\)|\"(from|value)\"",
    re.IGNORECASE,
)
JINJA = re.compile(r"\{\{.*?\}\}|\{%.*?%\}|\{#.*?#\}", re.DOTALL)


@pytest.mark.parametrize("path", sorted((PROJECT / "models").rglob("*.sql")), ids=lambda p: p.name)
def test_models_leave_engine_differences_to_the_dispatch_macros(path):
    sql = JINJA.sub("", path.read_text())
    sql = re.sub(r"--[^\n]*", "", sql)
    assert not ENGINE_SPECIFIC_SQL.findall(sql), f"{path.name}: {ENGINE_SPECIFIC_SQL.search(sql).group(0)!r}"


MODEL_NAME = re.compile(r"\b((?:stg|int|fct|dim|rpt|sft)_\w+)")


def _exposure_models(manifest: dict, name: str) -> set[str]:
    exposure = manifest["exposures"][f"exposure.trace_warehouse.{name}"]
    return {node.split(".")[-1] for node in exposure["depends_on"]["nodes"]}


def test_exposures_name_what_the_report_pages_export_and_web_app_read(manifest):
    from reports.exports import FORMATS
    from reports.pages import PAGES

    for page in PAGES:
        read = set(MODEL_NAME.findall(" ".join(section.sql for section in page.sections)))
        assert _exposure_models(manifest, f"report_{page.slug.replace('-', '_')}") == read, page.slug
    for fmt in FORMATS.values():
        assert _exposure_models(manifest, f"export_{fmt.name.replace('-', '_')}") == {fmt.model}
    web = " ".join(path.read_text() for path in (PROJECT / "reports" / "web").glob("*.py"))
    assert _exposure_models(manifest, "trace_browser") == set(MODEL_NAME.findall(web))
