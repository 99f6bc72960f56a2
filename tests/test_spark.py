"""The same project on Spark: each engine ingests the same files itself, and the two builds agree.

Spark starts once per test session (about 10 s) and builds once (about a minute): the module
fixture ingests and builds on both engines, and the tests compare what they hold.
"""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import duckdb
import numpy as np
import pytest

from foundation.labels import Label, LabelStore
from foundation.paths import labels_path
from foundation.spark import session_conf, spark_dir
from foundation.warehouse import one_row
from ingest.synthetic.sample import write_sample
from tests.helpers import BAD_LINES, FLAGGED_LINES, GOOD, assert_same_export, assert_same_report, run_cli
from transform.build import run_dbt

# Columns that record when or by which run a row was written, or DuckDB's own hash of it: they
# differ between any two ingests, whatever the engine.
RUN_COLUMNS = {"ingested_at", "ingest_id", "rejected_at", "content_hash"}
# Floating-point columns (averages, rates, correlations) may differ in the last bits between
# engines that sum in a different order.
FLOAT_TOLERANCE = 1e-9

MARTS = (
    "fct_conversations", "fct_assistant_turns", "fct_tool_calls", "fct_thoughts", "fct_tool_responses", "dim_tools",
    "fct_error_signatures", "dim_conversation_labels", "dim_near_duplicate_clusters",
)
REPORTING = (
    "rpt_after_error", "rpt_completion_by_category", "rpt_conversation_lengths", "rpt_data_quality",
    "rpt_length_tool_correlation", "rpt_length_vs_tool_usage", "rpt_overview", "rpt_parallel_width",
    "rpt_thinking_by_context", "rpt_tool_calls_by_category", "rpt_tool_error_rates", "rpt_tool_transitions",
    "rpt_turn_kinds_by_category", "rpt_error_signatures", "rpt_schema_issues", "rpt_near_duplicate_cluster_sizes",
    "rpt_largest_near_duplicate_clusters",
)
# The near-duplicate Python models (signatures as numbers, matches, clusters).
NEAR_DUPLICATES = ("int_near_duplicate_signatures", "int_near_duplicate_clusters")

# Builds warehouses with dbt: the integration tier.
pytestmark = pytest.mark.integration
RAW = ("conversations", "messages", "toolsets", "system_prompts", "rejected_rows")

# Call bodies on each side of the one JSON rule (macros/engine.sql, json_is_valid), in order.
JSON_RULE_CASES = [
    ('{"name": "a", "arguments": {"x": 1, "x": 2}}', None),  # a repeated key: valid
    ('{"name": "a", "arguments": {"x": NaN}}', "invalid_json"),
    ('{"name": "a", "arguments": {"x": 1,}}', "invalid_json"),  # a trailing comma
    ('{"name": "a", "arguments": {}} and then some', "invalid_json"),  # text after the value
    ('{"name": "a", "arguments": {"s": "NaN, Infinity and ,}"}}', None),  # all three, inside a string
]
JSON_RULE_ROW = {
    "id": "json-rules",
    "conversations": [
        {"from": "human", "value": "Check the JSON rule."},
        {"from": "gpt", "value": "<think>Five calls.</think>\n" + "\n".join(f"<tool_call>{body}</tool_call>" for body, _ in JSON_RULE_CASES)},
        {"from": "tool", "value": "\n".join('<tool_response>{"name": "a", "content": "ok"}</tool_response>' for _ in JSON_RULE_CASES)},
    ],
    "tools": "[]",
}

# Text outside the Basic Multilingual Plane written literally in nested JSON (as real traces do:
# `print(f"📂 Reading: …")` in a call's arguments): Spark's JSON functions escaped it as surrogate
# pairs, so its export bytes differed from DuckDB's. A string that spells an escape stays as it is.
NON_BMP_ROW = {
    "id": "non-bmp",
    "conversations": [
        {"from": "human", "value": "List the folder 📂 and report 🎉"},
        {"from": "gpt", "value": '<think>Reading 📂 first.</think>\n<tool_call>{"name": "run", "arguments": '
            '{"code": "print(f\\"📂 Reading: {path}\\")", "note": "\\\\ud83d\\\\udcc2 stays text", "tags": ["🎉", "é"]}}</tool_call>'},
        {"from": "tool", "value": '<tool_response>{"name": "run", "content": {"output": "📂 a.txt 𝔘", "ok": true}}</tool_response>'},
        {"from": "gpt", "value": "Done 🎉"},
    ],
    "tools": json.dumps([{"type": "function", "function": {"name": "run", "description": "Runs code 🐍",
                                                           "parameters": {"type": "object", "properties": {"code": {"type": "string"}}}}}],
                        ensure_ascii=False),
}


@dataclass
class Engines:
    duck: duckdb.DuckDBPyConnection
    duck_ingest: str
    spark_ingest: str
    spark_db: Path
    from_spark: Path | None = None  # what Spark wrote: relations as parquet, the report, the export
    view_keys: list[tuple[str, str]] | None = None  # the conversations of the saved view SELECTIONS name


def _inputs(root: Path) -> Path:
    """The sample as the hub's parquet files, plus a JSONL file of every kind of bad and flagged line."""
    write_sample(300, root, fmt="parquet")
    bad = [line for _, line, _ in BAD_LINES] + [line for _, line, _ in FLAGGED_LINES]
    # A duplicate id within the file (the later row wins), and a blank line (not a row).
    bad += [json.dumps(GOOD[0]), "", json.dumps(GOOD[0]), json.dumps(JSON_RULE_ROW), json.dumps(NON_BMP_ROW, ensure_ascii=False)]
    (root / "data" / "glm-5.1" / "extra.jsonl").write_text("\n".join(bad) + "\n", encoding="utf-8")
    return root


# What the local target exports in the tests (the other formats: tests/test_spark_cluster.py).
LOCAL_EXPORT = {"formats": ["prompt-response", "trl-prompt-completion", "sharegpt"], "dedup": True, "exclude_loops": True}
# Exports that select by the label file and by a saved view's conversations (the view's keys are
# the first VIEW_ROWS conversations, the labelled ones among them): each into a folder of its name.
SELECTIONS = {
    "labelled": {"labels": ["good"]},
    "view-without-label": {"exclude_labels": ["good"], "view": "first rows"},
    # The near-duplicate clusters (the sample's tasks repeat; its trajectories do not, so `--dedup
    # near`, the same statement over the trajectory's cluster, would leave nothing out here).
    "one-per-task": {"dedup": "task", "per_task": 1},
}
# The accuracy test's planted near-duplicates (tests/test_near_duplicates.py) signed on Spark in
# tasks of this many conversations, so that texts are signed in several tasks.
PLANTED_PER_TASK = 200
VIEW_ROWS = 20


def selection_options(selection: dict):
    from reports.exports.selection import ExportOptions

    return ExportOptions(tokenizer=None, chat_template=None, **selection)


def _from_spark(spark_db: Path, names: dict[str, str], out: Path, view_keys: list[tuple[str, str]]) -> None:
    """In one local Spark session (one JVM start): write each relation (``schema.name``) to parquet
    with Spark itself (views are computed on read), then the report and the export, as
    `traces report|export --target spark` call them."""
    script = (
        "import sys, json\n"
        "from pathlib import Path\n"
        "from reports.exports.selection import ExportOptions\n"
        "from reports.exports.spark_export import export_on_spark\n"
        "from reports.spark_report import render_reports_from_spark\n"
        "from foundation.cluster import spark_session\n"
        "db, out, export = Path(sys.argv[1]), Path(sys.argv[3]), json.loads(sys.argv[4])\n"
        "spark = spark_session(db, 'spark')\n"
        "locations = {}\n"
        "for name, relation in json.loads(sys.argv[2]).items():\n"
        "    details = {r[0]: r[1] for r in spark.sql(f'describe table extended {relation}').collect()}\n"
        "    if details.get('Type') == 'MANAGED':\n"
        "        locations[name] = details['Location'].removeprefix('file:')\n"
        "    else:\n"
        "        spark.table(relation).write.mode('overwrite').parquet(str(out / name))\n"
        "        locations[name] = str(out / name)\n"
        "(out / 'locations.json').write_text(json.dumps(locations))\n"
        "render_reports_from_spark(spark, 'spark', out / 'report', out / 'no-exports')\n"
        "options = ExportOptions(tokenizer=None, chat_template=None, dedup=export['dedup'], exclude_loops=export['exclude_loops'])\n"
        "export_on_spark(spark, 'spark', out / 'export', export['formats'], options)\n"
        "view_keys = [tuple(key) for key in json.loads(sys.argv[5])]\n"
        "for name, selection in json.loads(sys.argv[6]).items():\n"
        "    keys = view_keys if selection.get('view') else None\n"
        "    options = ExportOptions(tokenizer=None, chat_template=None, **selection)\n"
        "    export_on_spark(spark, 'spark', out / name, ['sharegpt'], options, db=db, conversations=keys)\n"
        "from tests.test_spark import sign_planted_on_spark\n"
        "sign_planted_on_spark(spark, out / 'planted')\n"
    )
    subprocess.run(
        [sys.executable, "-c", script, str(spark_db), json.dumps(names), str(out), json.dumps(LOCAL_EXPORT),
         json.dumps(view_keys), json.dumps(SELECTIONS)],
        check=True,
    )


def planted_parts() -> dict[str, list[tuple[int, str]]]:
    """The planted texts as each kind's parts: a task is one part, a trajectory three (of 200 words)."""
    from tests.test_near_duplicates import planted_corpus

    corpus = planted_corpus()
    trajectory = [(seq, " ".join(words[i : i + 200])) for seq, text in corpus for words in [text.split()] for i in (0, 200, 400)]
    return {"task": corpus, "trajectory": trajectory}


def sign_planted_on_spark(spark, out: Path) -> None:
    """The planted texts through Spark's near-duplicate path (transform/near_duplicates_spark.py),
    its two tables written as parquet under ``out``."""
    import pyarrow as pa

    from tests.test_near_duplicates import THRESHOLD
    from transform import near_duplicates_spark

    def frame(rows: list[tuple[int, str]]):
        return spark.createDataFrame(pa.table({"conversation_seq": [seq for seq, _ in rows], "text": [text for _, text in rows]}))

    parts = planted_parts()
    seqs = sorted({seq for seq, _ in parts["task"]})
    conversations = spark.createDataFrame(pa.table(
        {"source_config": ["planted"] * len(seqs), "conversation_id": [f"c{seq}" for seq in seqs], "conversation_seq": seqs}
    ))
    texts = {kind: frame(rows) for kind, rows in parts.items()}
    signatures = near_duplicates_spark.signatures(spark, texts, conversations, THRESHOLD, conversations_per_task=PLANTED_PER_TASK)
    signatures.write.mode("overwrite").parquet(str(out / "signatures"))
    near_duplicates_spark.clusters(spark, spark.read.parquet(str(out / "signatures"))).write.mode("overwrite").parquet(str(out / "clusters"))


def write_labels(duck_db: Path, spark_db: Path) -> None:
    """The same labels beside both warehouses (one for a conversation neither has): both builds
    read them into dim_conversation_labels. ``duck_db`` is ingested already."""
    with duckdb.connect(str(duck_db), read_only=True) as con:
        labelled = con.execute("select source_config, conversation_id from raw.conversations order by 1, 2 limit 3").fetchall()
    for db in (duck_db, spark_db):
        store = LabelStore(labels_path(db))
        for config, conversation_id in labelled:
            store.merge([Label(config, conversation_id, "good", "a note, with a comma", "2026-12-06T10:00:00+00:00")])
        store.merge([Label("kimi", "not-ingested", "later", "", "2026-12-06T11:30:00+00:00")])


@pytest.fixture(scope="module")
def engines(tmp_path_factory) -> Engines:
    root = tmp_path_factory.mktemp("engines")
    inputs = _inputs(root / "inputs")
    duck_db, spark_db = root / "duck.duckdb", root / "spark.duckdb"
    duck_ingest = run_cli("ingest", str(inputs), "--db", str(duck_db))
    assert duck_ingest.returncode == 0, duck_ingest.stderr
    write_labels(duck_db, spark_db)
    assert run_cli("build", "--db", str(duck_db)).returncode == 0
    spark_ingest = run_cli("ingest", "--target", "spark", str(inputs), "--db", str(spark_db))
    assert spark_ingest.returncode == 0, spark_ingest.stderr
    # Models only, as on the cluster: every mart, reporting and raw table is compared row for row
    # with DuckDB's, whose build runs every data test; on Spark the 110 tests took a quarter of
    # this module's time, the long pole of `make test`.
    # (`dbt run`: a `build --select resource_type:model` still runs the selected models' tests.)
    run_dbt(spark_db, ["run"], echo=False, target="spark")
    relations = {name: f"main.{name}" for name in MARTS + REPORTING}
    relations |= {name: f"intermediate.{name}" for name in NEAR_DUPLICATES}
    relations |= {f"raw_{name}": f"raw.{name}" for name in RAW}
    relations["stg_rejected_rows"] = "staging.stg_rejected_rows"
    with duckdb.connect(str(duck_db), read_only=True) as con:
        view_keys = con.execute(f"select source_config, conversation_id from raw.conversations order by 1, 2 limit {VIEW_ROWS}").fetchall()
    _from_spark(spark_db, relations, root / "from_spark", view_keys)
    # Spark's own tables are parquet folders DuckDB reads where they are; views and the raw tables
    # (their folder moves with each ingest) were written out by Spark above.
    locations = json.loads((root / "from_spark" / "locations.json").read_text())
    duck = duckdb.connect(str(duck_db), read_only=True)
    for name in relations:
        duck.execute(f"create temp view spark_{name} as select * from read_parquet('{locations[name]}/*.parquet')")
    return Engines(duck=duck, duck_ingest=duck_ingest.stdout, spark_ingest=spark_ingest.stdout, spark_db=spark_db,
                   from_spark=root / "from_spark", view_keys=view_keys)


def _comparable(con: duckdb.DuckDBPyConnection, relation: str, columns: list[str]) -> str:
    """The relation's rows with every value as text: doubles rounded to the tolerance, lists and JSON as written."""
    types = dict(con.execute(f"select column_name, column_type from (describe {relation})").fetchall())
    parts = []
    for column in columns:
        kind = types[column]
        if kind in ("DOUBLE", "FLOAT") or kind.startswith("DECIMAL"):
            parts.append(f"round({column}::double / {FLOAT_TOLERANCE}) * {FLOAT_TOLERANCE} as {column}")
        else:
            parts.append(f'"{column}"::varchar as "{column}"')
    return f"select {', '.join(parts)} from {relation}"


def _differences(engines: Engines, duck_relation: str, spark_relation: str) -> tuple[int, list, list]:
    con = engines.duck
    duck_columns = [r[0] for r in con.execute(f"select column_name from (describe {duck_relation})").fetchall()]
    spark_columns = {r[0] for r in con.execute(f"select column_name from (describe {spark_relation})").fetchall()}
    assert set(duck_columns) == spark_columns, f"{duck_relation}: columns differ: {set(duck_columns) ^ spark_columns}"
    columns = [c for c in duck_columns if c not in RUN_COLUMNS]
    duck_rows, spark_rows = _comparable(con, duck_relation, columns), _comparable(con, spark_relation, columns)
    only_duck = con.execute(f"{duck_rows} except all {spark_rows} limit 3").fetchall()
    only_spark = con.execute(f"{spark_rows} except all {duck_rows} limit 3").fetchall()
    n_rows = one_row(con, f"select count(*) from {duck_relation}")[0]
    return n_rows, only_duck, only_spark


@pytest.mark.parametrize("name", MARTS + REPORTING)
def test_every_mart_and_reporting_table_matches_row_for_row(engines, name):
    n_rows, only_duck, only_spark = _differences(engines, f"main.{name}", f"spark_{name}")
    assert n_rows > 0, f"{name} is empty: the comparison would prove nothing"
    assert not only_duck and not only_spark, f"{name}: DuckDB only {only_duck}; Spark only {only_spark}"


@pytest.mark.parametrize("name", NEAR_DUPLICATES)
def test_near_duplicate_signatures_and_clusters_match_row_for_row(engines, name):
    n_rows, only_duck, only_spark = _differences(engines, f"intermediate.{name}", f"spark_{name}")
    assert n_rows > 0
    assert not only_duck and not only_spark, f"{name}: DuckDB only {only_duck}; Spark only {only_spark}"


def test_spark_clusters_the_planted_near_duplicates_as_duckdb_does(engines):
    """The accuracy test's planted copies (similarities 0.5-1.0 around the 0.8 threshold), signed on
    Spark in tasks of 200 conversations: the same signatures, matches and clusters as DuckDB's code."""
    from tests.test_near_duplicates import THRESHOLD
    from transform.near_duplicates import Signatures, cluster_roots, match_texts, sign_texts

    planted = engines.from_spark / "planted"
    spark_signatures = engines.duck.execute(
        f"select text_kind, conversation_seq, n_shingles, signature::bigint[], matched_seqs, best_similarity "
        f"from read_parquet('{planted}/signatures/*.parquet') order by 1, 2"
    ).fetchall()
    spark_clusters = dict(((kind, seq), (root, size)) for kind, seq, root, size in engines.duck.execute(
        f"select text_kind, conversation_seq, cluster_seq, cluster_size from read_parquet('{planted}/clusters/*.parquet')"
    ).fetchall())
    expected_signatures, expected_clusters = [], {}
    con = duckdb.connect()
    for kind, rows in sorted(planted_parts().items()):
        con.execute("create or replace table parts (conversation_seq bigint, text varchar)")
        con.executemany("insert into parts values (?, ?)", rows)
        signed = sign_texts(con.table("parts"), 1, max(seq for seq, _ in rows))
        matches = match_texts(signed, Signatures.empty(), THRESHOLD)
        for i, seq in enumerate(signed.seqs.tolist()):
            # Rounded as the DuckDB model rounds it (half away from zero; Python's round is half-even).
            best = con.execute("select round(?::double, 4)", [matches.best_similarity[i]]).fetchone()[0]
            best = None if best != best else best
            expected_signatures.append((kind, seq, int(signed.n_shingles[i]), signed.matrix[i].tolist(), matches.matched[i], best))
        roots = cluster_roots(signed.seqs, matches.matched, np.unique(signed.matrix, axis=0, return_inverse=True)[1].ravel())
        sizes = {root: int((roots == root).sum()) for root in set(roots.tolist())}
        expected_clusters |= {(kind, seq): (root, sizes[root]) for seq, root in zip(signed.seqs.tolist(), roots.tolist(), strict=True)}
    assert spark_signatures == expected_signatures
    assert spark_clusters == expected_clusters
    # Real clusters on both sides of the threshold, so the comparison proves something.
    assert max(size for _, size in expected_clusters.values()) > 3
    assert sum(1 for row in expected_signatures if row[4]) > 100


@pytest.mark.parametrize("table", RAW)
def test_raw_tables_match(engines, table):
    n_rows, only_duck, only_spark = _differences(engines, f"raw.{table}", f"spark_raw_{table}")
    assert n_rows > 0
    assert not only_duck and not only_spark, f"raw.{table}: DuckDB only {only_duck}; Spark only {only_spark}"


def test_rejected_rows_carry_the_same_reasons_and_text(engines):
    query = "select source_config, source_row, reason, raw_text from {} where source_uri like '%.jsonl' order by 1, 2"
    duck = engines.duck.execute(query.format("raw.rejected_rows")).fetchall()
    spark = engines.duck.execute(query.format("spark_raw_rejected_rows")).fetchall()
    assert len(duck) == len(BAD_LINES) + 1
    assert spark == duck


def test_both_ingests_reconcile_and_print_the_same_counts(engines):
    def counts(output: str) -> list[str]:
        # "  <uri> [config]: read N, loaded N, rejected N" per input, then the total.
        return [line.strip() for line in output.splitlines() if "read " in line and "loaded " in line and "→" not in line]

    total_line = [line for line in engines.spark_ingest.splitlines() if line.startswith("read ")][0]
    read, loaded, rejected = (int(part.split()[1]) for part in total_line.split(" → ")[0].split(", "))
    assert read == loaded + rejected and rejected == len(BAD_LINES) + 1
    assert counts(engines.spark_ingest) == counts(engines.duck_ingest)
    assert [line for line in engines.duck_ingest.splitlines() if line.startswith("read ")][0].split(" → ")[0] == (
        total_line.split(" → ")[0]
    )


def test_both_engines_apply_one_json_rule(engines):
    expected = [issue for _, issue in JSON_RULE_CASES]
    query = "select parse_issue from {} where conversation_id = 'json-rules' order by call_index"
    assert [r[0] for r in engines.duck.execute(query.format("main.fct_tool_calls")).fetchall()] == expected
    assert [r[0] for r in engines.duck.execute(query.format("spark_fct_tool_calls")).fetchall()] == expected


def test_the_comparison_finds_a_changed_value(engines):
    engines.duck.execute(
        "create or replace temp view altered as "
        "select * replace (case when conversation_seq = 1 then n_tool_calls + 1 else n_tool_calls end as n_tool_calls) "
        "from spark_fct_conversations"
    )
    _, only_duck, only_spark = _differences(engines, "main.fct_conversations", "altered")
    assert len(only_duck) == 1 and len(only_spark) == 1


def test_dbt_and_the_ingest_run_spark_with_the_same_settings(engines):
    expected = session_conf(spark_dir(engines.spark_db))
    # Spark redacts the metastore URL when asked; that the two share the metastore is shown by
    # the build finding the ingest's raw tables.
    del expected["spark.hadoop.javax.jdo.option.ConnectionURL"]
    output = run_dbt(
        engines.spark_db,
        ["--quiet", "run-operation", "spark_session_settings", "--args", json.dumps({"keys": sorted(expected)})],
        echo=False,
        target="spark",
    )
    actual = json.loads(output.strip().splitlines()[-1])
    actual["spark.sql.warehouse.dir"] = actual["spark.sql.warehouse.dir"].removeprefix("file:")
    assert actual == expected


def _duck_db(engines: Engines) -> Path:
    return Path(one_row(engines.duck, "select path from duckdb_databases() where database_name = current_database()")[0])


def test_the_report_from_spark_is_duckdbs(engines, tmp_path):
    # Neither reads export manifests (the data-quality page lists any it finds).
    no_exports = engines.from_spark / "no-exports"
    assert run_cli("report", "--db", str(_duck_db(engines)), "--out", str(tmp_path / "duck"), "--exports", str(no_exports)).returncode == 0
    assert_same_report(engines.from_spark / "report", tmp_path / "duck")


def test_spark_writes_the_same_training_files_as_duckdb(engines, tmp_path):
    options = [arg for fmt in LOCAL_EXPORT["formats"] for arg in ("--format", fmt)] + ["--dedup", "exact", "--exclude-loops"]
    no_tokens = ["--tokenizer", "none", "--chat-template", "none"]
    duck = run_cli("export", "--db", str(_duck_db(engines)), "--out", str(tmp_path / "duck"), *options, *no_tokens)
    assert duck.returncode == 0, duck.stderr
    for fmt in LOCAL_EXPORT["formats"]:
        assert_same_export(tmp_path / "duck", engines.from_spark / "export", fmt)
        manifest = json.loads((engines.from_spark / "export" / f"{fmt}.manifest.json").read_text())
        assert manifest["rows_in"] == manifest["rows_out"] + sum(manifest["excluded"].values())
        assert manifest["filters"]["dedup"] and manifest["filters"]["exclude_loops"]
    # LLaMA-Factory's entry for the sharegpt file.
    assert (engines.from_spark / "export" / "dataset_info.json").read_text() == (tmp_path / "duck" / "dataset_info.json").read_text()


@pytest.mark.parametrize("name", SELECTIONS)
def test_spark_selects_by_label_view_and_cluster_as_duckdb_does(engines, tmp_path, name):
    from reports.exports import export

    selection = SELECTIONS[name]
    keys = engines.view_keys if selection.get("view") else None
    export(_duck_db(engines), tmp_path, ["sharegpt"], selection_options(selection), conversations=keys)
    rows = assert_same_export(tmp_path, engines.from_spark / name, "sharegpt")
    excluded = json.loads((engines.from_spark / name / "sharegpt.manifest.json").read_text())["excluded"]
    if selection.get("dedup") == "task":
        assert excluded["over_per_task"] > 0 and rows > 0
    elif selection.get("view"):
        # The view's rows less its labelled ones; every other row left out as not in the view.
        assert excluded["excluded_label"] == 3 and excluded["not_in_view"] > 0 and 0 < rows <= VIEW_ROWS - 3
    else:
        assert excluded["label_not_selected"] > 0 and 0 < rows <= 3


def test_spark_marts_are_parquet_any_reader_opens(engines):
    warehouse = engines.spark_db.with_name(engines.spark_db.name + ".spark") / "warehouse"
    n = engines.duck.execute(f"select count(*) from read_parquet('{warehouse}/main.db/fct_conversations/*.parquet')").fetchone()[0]
    assert n == engines.duck.execute("select count(*) from main.fct_conversations").fetchone()[0]


def test_reingesting_replaces_by_key_and_reconciles(engines, tmp_path):
    # Last in the module: it changes the Spark warehouse the comparisons read.
    con = engines.duck
    spark_raw = engines.spark_db.with_name(engines.spark_db.name + ".spark")
    before = con.execute("select count(*), max(conversation_seq) from spark_raw_conversations").fetchone()
    changed = dict(GOOD[0], task="a changed task")
    new = dict(GOOD[1], id="brand-new")
    path = tmp_path / "data" / "glm-5.1" / "again.jsonl"  # where GOOD[0] was first ingested
    path.parent.mkdir(parents=True)
    path.write_text(json.dumps(changed) + "\n" + json.dumps(new) + "\n", encoding="utf-8")
    result = run_cli("ingest", "--target", "spark", str(path), "--db", str(engines.spark_db))
    assert result.returncode == 0, result.stderr
    assert "read 2, loaded 2, rejected 0" in result.stdout

    tables = {name: f"read_parquet('{spark_raw}/raw/{name}-*/*.parquet')" for name in ("conversations", "messages")}
    after = con.execute(f"select count(*), max(conversation_seq) from {tables['conversations']}").fetchone()
    assert after[0] == before[0] + 1  # the changed row replaced its old version; the new one was added
    rows = con.execute(
        f"select conversation_seq, task from {tables['conversations']} where conversation_id = ? and source_config = 'glm-5.1'",
        [GOOD[0]["id"]],
    ).fetchall()
    assert len(rows) == 1 and rows[0][1] == "a changed task" and rows[0][0] > before[1]
    # Every message belongs to a conversation, and every conversation has all its messages.
    orphans = one_row(
        con,
        f"select count(*) from {tables['messages']} as m anti join {tables['conversations']} as c using (conversation_seq)"
    )[0]
    expected_messages = one_row(con, f"select sum(n_messages) from {tables['conversations']}")[0]
    assert orphans == 0
    assert one_row(con, f"select count(*) from {tables['messages']}")[0] == expected_messages
