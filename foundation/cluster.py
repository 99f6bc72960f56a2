"""A Spark standalone cluster on this machine: a master, workers and a Thrift server.

``traces cluster up`` starts them from the pyspark wheel (``bin/spark-class``, ``bin/spark-submit``)
with the project's Java, and ``traces cluster down`` stops exactly what it started: every
process's pid is written under ``<warehouse>.spark/cluster/`` and checked against the process's
own command line before a signal is sent, so a recycled pid is never touched.

One driver holds the metastore. The Thrift server is the cluster's SQL endpoint (dbt's
``thrift`` method) and carries Spark Connect as a plugin, so the ingest's DataFrame code reaches
the same driver, the same embedded Derby metastore and the same tables; Derby admits one process,
and this way only one process ever opens it (docs/spark.md).
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from foundation.errors import TraceWarehouseError
from foundation.spark import SparkUnavailable, session_conf, spark_dir, spark_env
from foundation.spark import session as local_session

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

MASTER_CLASS = "org.apache.spark.deploy.master.Master"
WORKER_CLASS = "org.apache.spark.deploy.worker.Worker"
THRIFT_CLASS = "org.apache.spark.sql.hive.thriftserver.HiveThriftServer2"
CONNECT_PLUGIN = "org.apache.spark.sql.connect.SparkConnectPlugin"
# Every JVM the cluster starts carries this property (the executors too), naming its directory:
# how `down` and the tests recognise the cluster's processes without matching names.
TAG_PROPERTY = "traces.cluster"
STATE_FILE = "cluster.json"
HOST = "127.0.0.1"


class ClusterError(TraceWarehouseError):
    """The cluster could not be started, reached or stopped as asked."""


class ClusterNotRunning(ClusterError):
    """``--target spark-cluster`` with no cluster up for this warehouse."""


@dataclass(frozen=True)
class ClusterSpec:
    """What ``up`` starts: how many workers of what size, and on which ports."""

    workers: int = 2
    cores_per_worker: int = 1
    memory_per_worker: str = "1g"
    master_port: int = 7077
    web_ui_port: int = 8080
    thrift_port: int = 10000
    connect_port: int = 15002

    def ports(self) -> dict[str, int]:
        return {
            "master": self.master_port, "web UI": self.web_ui_port,
            "Thrift server": self.thrift_port, "Spark Connect": self.connect_port,
        }

    @property
    def master_url(self) -> str:
        return f"spark://{HOST}:{self.master_port}"

    @property
    def web_ui(self) -> str:
        return f"http://{HOST}:{self.web_ui_port}"

    @property
    def jdbc_url(self) -> str:
        return f"jdbc:hive2://{HOST}:{self.thrift_port}/default"

    @property
    def connect_url(self) -> str:
        return f"sc://{HOST}:{self.connect_port}"


@dataclass
class ProcessRecord:
    name: str  # master, worker-1, ..., thrift
    pid: int
    main_class: str
    log: str


@dataclass
class ClusterState:
    """What ``up`` wrote: the spec it started with and the processes it started, in start order."""

    spec: ClusterSpec
    processes: list[ProcessRecord] = field(default_factory=list)
    started_at: float = 0.0

    def to_json(self) -> str:
        return json.dumps({"spec": asdict(self.spec), "processes": [asdict(p) for p in self.processes],
                           "started_at": self.started_at}, indent=2)

    @classmethod
    def from_json(cls, text: str) -> ClusterState:
        data = json.loads(text)
        return cls(ClusterSpec(**data["spec"]), [ProcessRecord(**p) for p in data["processes"]], data["started_at"])


def cluster_conf(directory: Path, spec: ClusterSpec, tag: str) -> dict[str, str]:
    """The Thrift server's settings on a standalone cluster: the session's table and metastore
    locations, Spark Connect as a plugin, and executors sized to the workers."""
    conf = {key: value for key, value in session_conf(directory).items() if key != "spark.master"}
    conf.update({
        # Without a cap the server's application takes every core and any other one waits.
        "spark.cores.max": str(spec.workers * spec.cores_per_worker),
        "spark.executor.cores": str(spec.cores_per_worker),
        "spark.executor.memory": spec.memory_per_worker,
        "spark.driver.extraJavaOptions": f"{conf['spark.driver.extraJavaOptions']} {tag}",
        "spark.executor.extraJavaOptions": tag,
        "spark.plugins": "org.apache.spark.sql.connect.SparkConnectPlugin",
        "spark.connect.grpc.binding.address": "127.0.0.1",
        "spark.connect.grpc.binding.port": str(spec.connect_port),
    })
    return conf


def cluster_dir(db: Path) -> Path:
    return spark_dir(db) / "cluster"


def logs_dir(db: Path) -> Path:
    return cluster_dir(db) / "logs"


def _tag(db: Path) -> str:
    return f"-D{TAG_PROPERTY}={cluster_dir(db)}"


def _pid_file(db: Path, name: str) -> Path:
    return cluster_dir(db) / f"{name}.pid"


def read_state(db: Path) -> ClusterState | None:
    path = cluster_dir(db) / STATE_FILE
    if not path.exists():
        return None
    return ClusterState.from_json(path.read_text())


def _write_state(db: Path, state: ClusterState) -> None:
    directory = cluster_dir(db)
    directory.mkdir(parents=True, exist_ok=True)
    for record in state.processes:
        _pid_file(db, record.name).write_text(f"{record.pid}\n")
    tmp = directory / (STATE_FILE + ".partial")
    tmp.write_text(state.to_json())
    tmp.replace(directory / STATE_FILE)


def _forget(db: Path, state: ClusterState | None) -> None:
    directory = cluster_dir(db)
    for record in state.processes if state else []:
        _pid_file(db, record.name).unlink(missing_ok=True)
    (directory / STATE_FILE).unlink(missing_ok=True)


def _command_line(pid: int) -> list[str] | None:
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return None
    return [part.decode(errors="replace") for part in raw.split(b"\0") if part]


def is_ours(db: Path, record: ProcessRecord) -> bool:
    """The pid is alive and is the JVM ``up`` started (its class and this cluster's tag), not a
    process that has since been given the same pid."""
    argv = _command_line(record.pid)
    if not argv or _is_zombie(record.pid):
        return False
    # Until spark-class execs the JVM, the tag is only in the launcher's environment.
    return record.main_class in argv and (_tag(db) in " ".join(argv) or _tag(db) in _environment_of(record.pid))


def _environment_of(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/environ").read_bytes().decode(errors="replace").replace("\0", " ")
    except OSError:
        return ""


def _is_zombie(pid: int) -> bool:
    try:
        status = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return True
    return status.rsplit(")", 1)[-1].split()[0] == "Z"


def tagged_processes(db: Path) -> list[int]:
    """Every live process carrying this cluster's tag: the daemons and the executors they launched."""
    tag = _tag(db)
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            argv = _command_line(int(entry.name))
            if argv and tag in " ".join(argv) and not _is_zombie(int(entry.name)):
                found.append(int(entry.name))
    return found


def _pyspark_home() -> Path:
    try:
        import pyspark
    except ImportError:
        raise SparkUnavailable("pyspark is not installed: run `make spark` (or pip install '.[spark]')") from None
    home = Path(pyspark.__file__).parent
    if not (home / "bin" / "spark-class").exists():
        raise SparkUnavailable(f"{home} has no bin/spark-class: reinstall pyspark with `make spark`")
    return home


def _check_ports(spec: ClusterSpec) -> None:
    for what, port in spec.ports().items():
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                probe.bind((HOST, port))
            except OSError:
                option = {"master": "--master-port", "web UI": "--web-ui-port", "Thrift server": "--thrift-port",
                          "Spark Connect": "--connect-port"}[what]
                raise ClusterError(f"port {port} ({what}) is in use on {HOST}; choose another with {option}") from None


def _log_tail(path: Path, lines: int = 15) -> str:
    try:
        text = path.read_text(errors="replace").splitlines()
    except OSError:
        return "(no log)"
    return "\n".join(text[-lines:])


def _environment(db: Path, home: Path) -> dict[str, str]:
    env = {**os.environ, **spark_env(db)}
    env["SPARK_HOME"] = str(home)
    env["SPARK_LOG_DIR"] = str(logs_dir(db))
    env["SPARK_PID_DIR"] = str(cluster_dir(db))
    # Master and Worker read their JVM options from here (the launcher's daemon options).
    env["SPARK_DAEMON_JAVA_OPTS"] = _tag(db)
    env.pop("TRACES_SPARK_MASTER", None)
    return env


def _launch(db: Path, name: str, main_class: str, argv: list[str], env: dict[str, str]) -> ProcessRecord:
    log = logs_dir(db) / f"{name}.log"
    with log.open("ab") as sink:
        # A session of its own: a Ctrl-C in the terminal that ran `up` does not reach the cluster.
        # spark-class ends in `exec java`, so this pid is the JVM's.
        proc = subprocess.Popen(argv, stdout=sink, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                env=env, cwd=cluster_dir(db), start_new_session=True)
    return ProcessRecord(name, proc.pid, main_class, str(log))


def _running(db: Path, record: ProcessRecord, child: bool = False) -> bool:
    """Whether the recorded process still runs. A child of this process (one `up` has just
    launched) is asked with waitpid: while spark-submit and spark-class exec into the JVM, its
    /proc entry can read empty for a moment, which ``is_ours`` would take for an exit."""
    if child:
        try:
            pid, _ = os.waitpid(record.pid, os.WNOHANG)
            return pid == 0
        except ChildProcessError:  # reaped already (it has exited), or not our child after all
            pass
    return is_ours(db, record)


def _wait(what: str, ready: Callable[[], bool], record: ProcessRecord, db: Path, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if ready():
            return
        if not _running(db, record, child=True):
            raise ClusterError(f"the {what} exited while starting; the end of {record.log}:\n{_log_tail(Path(record.log))}")
        time.sleep(0.5)
    raise ClusterError(f"the {what} did not become ready within {timeout:.0f} s; the end of {record.log}:\n"
                       f"{_log_tail(Path(record.log))}")


def master_status(spec: ClusterSpec) -> dict | None:
    """The master's own account (``/json/``: workers, cores, applications), or None if it does not answer."""
    try:
        with urllib.request.urlopen(f"{spec.web_ui}/json/", timeout=2) as response:
            return json.loads(response.read())
    except (OSError, urllib.error.URLError, ValueError):
        return None


def _alive_workers(spec: ClusterSpec) -> int:
    status = master_status(spec)
    return int(status.get("aliveworkers", 0)) if status else 0


def thrift_answers(spec: ClusterSpec) -> bool:
    """The Thrift server runs a query (an open port is not enough: it listens before it serves)."""
    try:
        from pyhive import hive  # type: ignore[import-untyped]
    except ImportError:
        raise SparkUnavailable("PyHive is not installed: run `make spark`") from None
    if not _port_open(spec.thrift_port):
        return False  # else thrift's socket logs a connection error on every try
    try:
        connection = hive.connect(host=HOST, port=spec.thrift_port)
        try:
            cursor = connection.cursor()
            cursor.execute("select 1")
            return cursor.fetchall() == [(1,)]
        finally:
            connection.close()
    except Exception:  # noqa: BLE001 - thrift, transport and sasl errors all mean "not yet"
        return False


def _port_open(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.settimeout(1)
        return probe.connect_ex((HOST, port)) == 0


def running(db: Path) -> tuple[ClusterState | None, list[ProcessRecord]]:
    """The recorded cluster and which of its processes are still the ones ``up`` started."""
    state = read_state(db)
    if state is None:
        return None, []
    return state, [record for record in state.processes if is_ours(db, record)]


def up(db: Path, spec: ClusterSpec | None = None, echo: Callable[[str], None] = lambda _: None,
       timeout: float = 180.0) -> tuple[ClusterState, bool]:
    """Start the cluster for warehouse ``db``; return its state and whether it was started now
    (False: one was already running, and is reported instead of starting another)."""
    spec = spec or ClusterSpec()
    if spec.workers < 1 or spec.cores_per_worker < 1:
        raise ClusterError("a cluster needs at least one worker with at least one core")
    state, alive = running(db)
    if state is not None and alive:
        if len(alive) < len(state.processes):
            gone = ", ".join(r.name for r in state.processes if r not in alive)
            raise ClusterError(f"the cluster for {db} is only partly running ({gone} stopped): "
                               "run `traces cluster down`, then `traces cluster up`")
        return state, False
    _forget(db, state)  # every recorded pid is gone (or reused): the files are stale
    home = _pyspark_home()
    _check_ports(spec)
    logs_dir(db).mkdir(parents=True, exist_ok=True)
    env = _environment(db, home)
    state = ClusterState(spec, started_at=time.time())
    try:
        master = _launch(db, "master", MASTER_CLASS, [
            str(home / "bin" / "spark-class"), MASTER_CLASS, "--host", HOST,
            "--port", str(spec.master_port), "--webui-port", str(spec.web_ui_port),
        ], env)
        state.processes.append(master)
        _write_state(db, state)
        _wait("master", lambda: master_status(spec) is not None, master, db, timeout)
        echo(f"master     {spec.master_url}   (web UI {spec.web_ui})")
        for n in range(1, spec.workers + 1):
            worker = _launch(db, f"worker-{n}", WORKER_CLASS, [
                str(home / "bin" / "spark-class"), WORKER_CLASS, spec.master_url, "--host", HOST,
                "--cores", str(spec.cores_per_worker), "--memory", spec.memory_per_worker,
                "--webui-port", "0", "--work-dir", str(logs_dir(db) / "executors"),
            ], env)
            state.processes.append(worker)
            _write_state(db, state)
        _wait(f"{spec.workers} worker(s)", lambda: _alive_workers(spec) >= spec.workers, state.processes[-1], db, timeout)
        echo(f"workers    {spec.workers} × {spec.cores_per_worker} core(s), {spec.memory_per_worker}")
        conf = cluster_conf(spark_dir(db), spec, _tag(db))
        thrift = _launch(db, "thrift", THRIFT_CLASS, [
            str(home / "bin" / "spark-submit"), "--class", THRIFT_CLASS, "--master", spec.master_url,
            "--name", "trace-warehouse", *[arg for key, value in conf.items() for arg in ("--conf", f"{key}={value}")],
            "--hiveconf", f"hive.server2.thrift.port={spec.thrift_port}",
            "--hiveconf", f"hive.server2.thrift.bind.host={HOST}",
            "spark-internal",
        ], env)
        state.processes.append(thrift)
        _write_state(db, state)
        _wait("Thrift server", lambda: thrift_answers(spec) and _port_open(spec.connect_port), thrift, db, timeout)
        echo(f"endpoint   {spec.jdbc_url}   (Spark Connect {spec.connect_url})")
    except BaseException:
        stop(db, state, children=True)
        raise
    echo(f"logs       {logs_dir(db)}")
    return state, True


def stop(db: Path, state: ClusterState, grace: float = 30.0, children: bool = False) -> list[str]:
    """Stop the recorded processes, the Thrift server first and the master last; wait for each to
    exit (SIGKILL after ``grace`` seconds). Return the names of those that were running.
    ``children``: this process launched them (a failed `up`), so waitpid tells when they are gone."""
    stopped = []
    for record in reversed(state.processes):
        if not _running(db, record, children):
            continue
        stopped.append(record.name)
        # The process group: an executor or a launcher script the daemon started goes with it.
        _signal_group(record.pid, signal.SIGTERM)
        deadline = time.monotonic() + grace
        while _running(db, record, children) and time.monotonic() < deadline:
            time.sleep(0.2)
        if _running(db, record, children):
            _signal_group(record.pid, signal.SIGKILL)
            while _running(db, record, children):
                time.sleep(0.1)
    _forget(db, state)
    return stopped


def _signal_group(pid: int, sig: signal.Signals) -> None:
    try:
        os.killpg(pid, sig)
    except ProcessLookupError:
        pass
    except PermissionError:
        os.kill(pid, sig)


def down(db: Path) -> list[str]:
    state = read_state(db)
    if state is None:
        return []
    return stop(db, state)


def require(db: Path) -> ClusterState:
    """The running cluster for ``db``, or a clear error saying how to start one."""
    state, alive = running(db)
    if state is None or not alive:
        raise ClusterNotRunning(f"no Spark cluster is running for {db}: run `traces cluster up --db {db}` first")
    if len(alive) < len(state.processes):
        raise ClusterError(f"the cluster for {db} is only partly running: run `traces cluster down`, then `up`")
    return state


def refuse_local_session(db: Path) -> None:
    """A local Spark session over ``db`` would open the Derby metastore the cluster's driver holds."""
    state, alive = running(db)
    if state is not None and alive:
        raise ClusterError(
            f"a Spark cluster is running over {db} and holds its metastore: use --target spark-cluster, "
            "or stop it with `traces cluster down`"
        )


def connect(db: Path) -> SparkSession:
    """A Spark Connect session on the cluster's driver: the same metastore and tables as dbt's thrift."""
    state = require(db)
    os.environ.update(spark_env(db))
    try:
        import warnings

        with warnings.catch_warnings():
            # pyspark 4.3 warns about pandas 3; the ingest uses no pandas API through Connect.
            warnings.filterwarnings("ignore", message="PySpark does not yet fully support pandas", category=FutureWarning)
            from pyspark.sql import SparkSession

            return SparkSession.builder.remote(state.spec.connect_url).getOrCreate()
    except ImportError:
        raise SparkUnavailable("pyspark's Connect client is not installed: run `make spark`") from None


def spark_session(db: Path, target: str) -> SparkSession:
    """The Spark session for ``target``: the cluster's driver through Spark Connect, or a local one."""
    if target == "spark-cluster":
        return connect(db)
    refuse_local_session(db)
    return local_session(db)

