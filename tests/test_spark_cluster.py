"""The main job on a real Spark cluster: a standalone master, two workers and a Thrift server
started by `traces cluster up`, the ingest through Spark Connect and the build through dbt's
thrift method; what it builds agrees row for row with DuckDB's build of the same inputs.

One cluster for the module (about 25 s to start), on ports of its own so that a cluster the
user runs on the default ports is left alone; the last test stops it and checks that no process
it started is left.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import datasets
import duckdb
import pyarrow.parquet as pq
import pytest

from foundation import cluster
from ingest.synthetic.sample import write_sample
from tests.helpers import (
    BAD_LINES,
    BIN,
    RUN_MANIFEST_KEYS,
    assert_same_export,
    assert_same_report,
    report_pages,
    run_cli,
)
from tests.test_spark import MARTS, RAW, REPORTING, Engines, _differences, _inputs, write_labels
from transform.build import run_dbt

pytestmark = pytest.mark.integration

# Not the defaults (7077, 8080, 10000, 15002): a user's own cluster may be on those.
PORTS = ["--master-port", "17077", "--web-ui-port", "18080", "--thrift-port", "20000", "--connect-port", "25002"]


def _cluster_relations(db: Path, names: dict[str, str], out: Path) -> None:
    """Write each relation to parquet through the cluster's Spark Connect endpoint: views are computed there.

    In a child process: pyspark marks a process that opened a Connect session (an environment
    variable its children inherit), and this one goes on to start other Spark processes.
    """
    script = (
        "import sys, json\n"
        "from pathlib import Path\n"
        "from foundation.cluster import connect\n"
        "spark = connect(Path(sys.argv[1]))\n"
        "for name, relation in json.loads(sys.argv[2]).items():\n"
        "    spark.table(relation).write.mode('overwrite').parquet(str(Path(sys.argv[3]) / name))\n"
    )
    subprocess.run([sys.executable, "-c", script, str(db), json.dumps(names), str(out)], check=True)


@pytest.fixture(scope="module")
def on_cluster(tmp_path_factory) -> Iterator[Engines]:
    root = tmp_path_factory.mktemp("cluster")
    inputs = _inputs(root / "inputs")
    duck_db, spark_db = root / "duck.duckdb", root / "spark.duckdb"
    # The cluster starts (mostly waiting on the JVMs) while DuckDB ingests and builds.
    up = subprocess.Popen([str(BIN / "traces"), "cluster", "up", "--db", str(spark_db), "--workers", "2", *PORTS],
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        duck_ingest = run_cli("ingest", str(inputs), "--db", str(duck_db))
        assert duck_ingest.returncode == 0, duck_ingest.stderr
        write_labels(duck_db, spark_db)
        assert run_cli("build", "--db", str(duck_db)).returncode == 0
        output, _ = up.communicate()
        assert up.returncode == 0, output
        spark_ingest = run_cli("ingest", "--target", "spark-cluster", str(inputs), "--db", str(spark_db))
        assert spark_ingest.returncode == 0, spark_ingest.stdout + spark_ingest.stderr
        # `dbt run`, models only: every table is compared row for row with DuckDB's, whose build
        # runs every data test; here they added ~45 s of per-statement round trips (`build --select
        # resource_type:model` would still run them: dbt selects a selected model's tests too).
        run_dbt(spark_db, ["run"], echo=False, target="spark-cluster")
        relations = {name: f"main.{name}" for name in MARTS + REPORTING}
        relations |= {f"raw_{name}": f"raw.{name}" for name in RAW}
        _cluster_relations(spark_db, relations, root / "from_cluster")
    except BaseException:
        run_cli("cluster", "down", "--db", str(spark_db))
        raise
    duck = duckdb.connect(str(duck_db), read_only=True)
    for name in relations:
        duck.execute(f"create temp view spark_{name} as select * from read_parquet('{root / 'from_cluster' / name}/*.parquet')")
    yield Engines(duck=duck, duck_ingest=duck_ingest.stdout, spark_ingest=spark_ingest.stdout, spark_db=spark_db)
    duck.close()
    run_cli("cluster", "down", "--db", str(spark_db))  # a no-op when the last test has stopped it


def test_up_prints_the_endpoints(on_cluster):
    status = run_cli("cluster", "status", "--db", str(on_cluster.spark_db))
    assert status.returncode == 0
    assert "workers alive 2" in status.stdout, status.stdout
    assert "jdbc:hive2://127.0.0.1:20000/default  (answers)" in status.stdout
    for name in ("master", "worker-1", "worker-2", "thrift"):
        assert f"{name}" in status.stdout and "stopped" not in status.stdout
    assert (cluster.logs_dir(on_cluster.spark_db) / "thrift.log").stat().st_size > 0


def test_the_application_runs_on_the_workers_not_in_a_local_session(on_cluster):
    state = cluster.require(on_cluster.spark_db)
    status = cluster.master_status(state.spec)
    assert status is not None
    apps = status["activeapps"]
    assert [app["name"] for app in apps] == ["trace-warehouse"]
    assert apps[0]["cores"] == 2  # one core on each worker: executors on both
    executors = [pid for pid in cluster.tagged_processes(on_cluster.spark_db)
                 if "CoarseGrainedExecutorBackend" in " ".join(cluster._command_line(pid) or [])]
    assert len(executors) == 2


@pytest.mark.parametrize("name", MARTS + REPORTING)
def test_every_mart_and_reporting_table_matches_duckdb(on_cluster, name):
    n_rows, only_duck, only_spark = _differences(on_cluster, f"main.{name}", f"spark_{name}")
    assert n_rows > 0, f"{name} is empty: the comparison would prove nothing"
    assert not only_duck and not only_spark, f"{name}: DuckDB only {only_duck}; cluster only {only_spark}"


@pytest.mark.parametrize("table", RAW)
def test_raw_tables_match_duckdb(on_cluster, table):
    n_rows, only_duck, only_spark = _differences(on_cluster, f"raw.{table}", f"spark_raw_{table}")
    assert n_rows > 0
    assert not only_duck and not only_spark, f"raw.{table}: DuckDB only {only_duck}; cluster only {only_spark}"


def test_the_cluster_ingest_reconciles_like_duckdb(on_cluster):
    def totals(output: str) -> str:
        return [line for line in output.splitlines() if line.startswith("read ")][0].split(" → ")[0]

    read, loaded, rejected = (int(part.split()[1]) for part in totals(on_cluster.spark_ingest).split(", "))
    assert read == loaded + rejected and rejected == len(BAD_LINES) + 1
    assert totals(on_cluster.spark_ingest) == totals(on_cluster.duck_ingest)


def test_the_report_from_the_cluster_is_duckdbs(on_cluster, tmp_path):
    duck_db = Path(on_cluster.duck.execute("select path from duckdb_databases() where database_name = current_database()").fetchone()[0])
    assert run_cli("report", "--db", str(duck_db), "--out", str(tmp_path / "duck")).returncode == 0
    result = run_cli("report", "--target", "spark-cluster", "--db", str(on_cluster.spark_db), "--out", str(tmp_path / "cluster"))
    assert result.returncode == 0, result.stderr
    assert len(report_pages(tmp_path / "duck")) == 8
    assert_same_report(tmp_path / "cluster", tmp_path / "duck")
    assert f"{on_cluster.spark_db}.spark (spark-cluster)" in (tmp_path / "cluster" / "index.md").read_text()


# trl-prompt-completion, prompt-response and sharegpt are proven on the local Spark target
# (tests/test_spark.py), openai with a URI --out. Token statistics (the default tokenizer and template) and --redact run
# the DuckDB export's own Python on the executors.
CLUSTER_FORMATS = ("trl-messages",)


def test_spark_writes_the_same_training_files_as_duckdb(on_cluster, tmp_path):
    duck_db = Path(on_cluster.duck.execute("select path from duckdb_databases() where database_name = current_database()").fetchone()[0])
    options = [arg for fmt in (*CLUSTER_FORMATS, "hub") for arg in ("--format", fmt)] + ["--redact"]
    duck = run_cli("export", "--db", str(duck_db), "--out", str(tmp_path / "duck"), *options)
    assert duck.returncode == 0, duck.stderr
    spark = run_cli("export", "--target", "spark-cluster", "--db", str(on_cluster.spark_db), "--out", str(tmp_path / "cluster"), *options)
    assert spark.returncode == 0, spark.stderr
    for fmt in CLUSTER_FORMATS:
        assert_same_export(tmp_path / "duck", tmp_path / "cluster", fmt)
        manifest = json.loads((tmp_path / "cluster" / f"{fmt}.manifest.json").read_text())
        assert manifest["tokens"]["tokenizer"] == "qwen3" and manifest["tokens"]["total_tokens"] > 0
        assert sum(manifest["redactions"].values()) > 0, "nothing redacted: the comparison would prove little"
    # The hub folder: the same rows in the same splits, and the same card but for the inputs' names.
    for split in ("train", "validation"):
        (duck_split,), (cluster_split,) = ((tmp_path / side / "hub" / "data").glob(f"{split}-*.parquet") for side in ("duck", "cluster"))
        assert pq.read_table(duck_split).to_pylist() == pq.read_table(cluster_split).to_pylist()
    cards = [[line for line in (tmp_path / side / "hub" / "README.md").read_text().splitlines() if not line.startswith("- Inputs:")]
             for side in ("duck", "cluster")]
    assert cards[0] == cards[1]
    assert not list((tmp_path / "cluster").glob(".export-scratch*")) and not list((tmp_path / "cluster").glob("*.partial"))


def _parts(folder: Path) -> bytes:
    return b"".join(part.read_bytes() for part in sorted(folder.glob("part-*.txt")))


def test_an_export_to_a_uri_leaves_part_files_that_are_duckdbs_file_in_order(on_cluster, tmp_path):
    duck_db = Path(on_cluster.duck.execute("select path from duckdb_databases() where database_name = current_database()").fetchone()[0])
    no_tokens = ["--tokenizer", "none", "--chat-template", "none"]
    assert run_cli("export", "--db", str(duck_db), "--out", str(tmp_path / "duck"), "--format", "openai", *no_tokens).returncode == 0
    uri = f"file://{tmp_path / 'shared'}"
    spark = run_cli("export", "--target", "spark-cluster", "--db", str(on_cluster.spark_db), "--out", uri, "--format", "openai", *no_tokens)
    assert spark.returncode == 0, spark.stderr
    assert f"→ {uri}/openai" in spark.stdout
    shared = tmp_path / "shared"
    # Concatenated in name order, the parts are DuckDB's file byte for byte (and the ids its ids file).
    assert len(list((shared / "openai").glob("part-*.txt"))) >= 1
    assert _parts(shared / "openai") == (tmp_path / "duck" / "openai.jsonl").read_bytes()
    assert _parts(shared / "openai.ids") == (tmp_path / "duck" / "openai.ids.txt").read_bytes()
    rows = datasets.load_dataset("json", data_files=str(shared / "openai" / "part-*.txt"), split="train")
    duck_manifest = json.loads((tmp_path / "duck" / "openai.manifest.json").read_text())
    (manifest_part,) = (shared / "openai.manifest").glob("part-*.txt")
    manifest = json.loads(manifest_part.read_text())
    assert rows.num_rows == manifest["rows_out"] == duck_manifest["rows_out"] > 0
    assert manifest["sha256"] is None and manifest["file"] == "openai/" and "part files" in manifest["layout"]
    same = RUN_MANIFEST_KEYS | {"file", "ids_file", "layout"}
    assert {k: v for k, v in manifest.items() if k not in same} == {k: v for k, v in duck_manifest.items() if k not in same}
    again = run_cli("export", "--target", "spark-cluster", "--db", str(on_cluster.spark_db), "--out", uri, "--format", "openai", *no_tokens)
    assert again.returncode == 1 and "exists; pass --force" in again.stderr
    forced = run_cli("export", "--target", "spark-cluster", "--db", str(on_cluster.spark_db), "--out", uri, "--format", "openai", *no_tokens, "--force")
    assert forced.returncode == 0, forced.stderr
    assert _parts(shared / "openai") == (tmp_path / "duck" / "openai.jsonl").read_bytes()


def test_what_a_uri_cannot_hold_is_refused_with_the_way_round(on_cluster, tmp_path):
    result = run_cli("export", "--target", "spark-cluster", "--db", str(on_cluster.spark_db),
                     "--out", f"file://{tmp_path}", "--format", "hub")
    assert result.returncode == 1
    assert "pass a local --out with --format hub" in result.stderr
    assert not list(tmp_path.iterdir())


def test_a_second_up_reports_the_running_cluster(on_cluster):
    before = cluster.require(on_cluster.spark_db)
    again = run_cli("cluster", "up", "--db", str(on_cluster.spark_db), *PORTS)
    assert again.returncode == 0
    assert "already running" in again.stdout
    assert [p.pid for p in cluster.require(on_cluster.spark_db).processes] == [p.pid for p in before.processes]


def test_a_port_in_use_is_named(on_cluster, tmp_path):
    other = run_cli("cluster", "up", "--db", str(tmp_path / "other.duckdb"), *PORTS)
    assert other.returncode == 1
    assert "port 17077 (master) is in use" in other.stderr and "--master-port" in other.stderr
    assert not cluster.tagged_processes(tmp_path / "other.duckdb")


def test_the_local_session_is_refused_while_the_cluster_holds_the_metastore(on_cluster):
    result = run_cli("build", "--target", "spark", "--db", str(on_cluster.spark_db))
    assert result.returncode == 1
    assert "holds its metastore" in result.stderr and "--target spark-cluster" in result.stderr


def test_down_stops_everything_up_started(on_cluster):
    # Last in the module: the tests above need the cluster.
    db = on_cluster.spark_db
    assert len(cluster.tagged_processes(db)) >= 6  # master, two workers, the server, two executors
    result = run_cli("cluster", "down", "--db", str(db))
    assert result.returncode == 0
    assert result.stdout.startswith("stopped thrift, worker-2, worker-1, master")
    assert cluster.tagged_processes(db) == []
    assert not list(cluster.cluster_dir(db).glob("*.pid")) and cluster.read_state(db) is None
    for port in (17077, 18080, 20000, 25002):
        with socket.socket() as probe:
            assert probe.connect_ex(("127.0.0.1", port)) != 0, f"port {port} still answers"
    assert run_cli("cluster", "down", "--db", str(db)).stdout.startswith("no cluster was running")


def test_spark_cluster_target_without_a_cluster_says_how_to_start_one(tmp_path):
    write_sample(2, tmp_path / "inputs", fmt="parquet")
    source = tmp_path / "inputs"
    for command in (["ingest", "--target", "spark-cluster", str(source)], ["build", "--target", "spark-cluster"]):
        result = run_cli(*command, "--db", str(tmp_path / "w.duckdb"))
        assert result.returncode == 1
        assert "no Spark cluster is running" in result.stderr and "traces cluster up" in result.stderr


def test_a_stale_pid_file_is_recognised(tmp_path):
    db = tmp_path / "w.duckdb"
    # A pid that is alive but is not the recorded JVM (this test's own process), and one that is gone.
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    state = cluster.ClusterState(cluster.ClusterSpec(), [
        cluster.ProcessRecord("master", os.getpid(), cluster.MASTER_CLASS, str(tmp_path / "m.log")),
        cluster.ProcessRecord("thrift", gone.pid, cluster.THRIFT_CLASS, str(tmp_path / "t.log")),
    ])
    cluster._write_state(db, state)
    assert cluster.running(db)[1] == []
    with pytest.raises(cluster.ClusterNotRunning):
        cluster.require(db)
    status = run_cli("cluster", "status", "--db", str(db))
    assert "master     pid" in status.stdout and "stopped" in status.stdout
    # `down` signals nothing it did not start (this process lives on) and forgets the stale files.
    assert run_cli("cluster", "down", "--db", str(db)).stdout.startswith("no cluster was running")
    assert cluster.read_state(db) is None and not list(cluster.cluster_dir(db).glob("*.pid"))


def test_up_without_the_spark_extra_says_to_run_make_spark(tmp_path):
    script = (
        "import sys; sys.modules['pyspark'] = None\n"
        "from pathlib import Path\n"
        "from foundation import cluster\n"
        "try:\n"
        "    cluster.up(Path(sys.argv[1]))\n"
        "except cluster.SparkUnavailable as exc:\n"
        "    print(exc)\n"
    )
    result = subprocess.run([sys.executable, "-c", script, str(tmp_path / "w.duckdb")], capture_output=True, text=True)
    assert "make spark" in result.stdout, result.stdout + result.stderr
