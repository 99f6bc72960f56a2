"""Run dbt against the warehouse with the project's own profile."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from pathlib import Path
from types import TracebackType

from foundation import cluster, warehouse
from foundation.errors import BuildFailed, SettingError
from foundation.labels import LabelStore
from foundation.paths import DB_ENV_VAR, PROJECT_DIR, labels_path
from foundation.settings import RuntimeSettings
from foundation.spark import spark_dir, spark_env
from transform.dbt_worker import GO

ANSI_ESCAPE = re.compile(r"\x1b\[[0-9;]*m")
PLAIN_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
SCHEMA_OUT_OF_SYNC = "schemas on this incremental model are out of sync"


def dbt_executable() -> str:
    candidate = Path(sys.executable).parent / "dbt"
    return str(candidate) if candidate.exists() else "dbt"


def _project_args(args: list[str]) -> list[str]:
    return [*args, "--project-dir", str(PROJECT_DIR), "--profiles-dir", str(PROJECT_DIR)]


TARGETS = ("duckdb", "spark", "spark-cluster")
SPARK_TARGETS = ("spark", "spark-cluster")
# The profile's output for each engine (profiles.yml).
_PROFILE_OUTPUT = {"duckdb": "dev", "spark": "spark", "spark-cluster": "spark_cluster"}
# profiles.yml reads the cluster's Thrift port from here (`traces cluster up --thrift-port`).
THRIFT_PORT_ENV = "TRACES_SPARK_THRIFT_PORT"


def _start(command: list[str], db: Path, stdin: int | None = None, target: str = "duckdb") -> subprocess.Popen:
    env = {
        **os.environ,
        **RuntimeSettings.from_env().dbt_env(db),
        DB_ENV_VAR: str(db),
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
    }
    if target in SPARK_TARGETS:
        env.update(spark_env(db))
    if target == "spark-cluster":
        env[THRIFT_PORT_ENV] = str(cluster.require(db).spec.thrift_port)
    return subprocess.Popen(
        command, cwd=PROJECT_DIR, env=env, stdin=stdin, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )


def _finish(proc: subprocess.Popen, what: str, echo: bool) -> str:
    """Read ``proc``'s output to the end; return it, raise ``BuildFailed`` on a non-zero exit."""
    lines: list[str] = []
    assert proc.stdout is not None
    for line in proc.stdout:
        lines.append(line)
        if echo:
            sys.stdout.write(line)
    code = proc.wait()
    if code != 0:
        plain = [ANSI_ESCAPE.sub("", line).rstrip() for line in lines]
        failures = [line for line in plain if "FAIL" in line or "ERROR" in line or "Error" in line]
        hint = ""
        if any(SCHEMA_OUT_OF_SYNC in line for line in plain):
            hint = (
                "\nan incremental parsing model was built by an earlier version and lacks a column this "
                "version adds: run `traces build --full-refresh` once"
            )
        raise BuildFailed(f"dbt {what} failed (exit {code}):\n" + "\n".join(failures[-15:] or plain[-40:]) + hint)
    return "".join(lines)


def _ready(db: Path, target: str = "duckdb") -> None:
    if target == "spark-cluster":
        cluster.require(db)  # the error says to run `traces cluster up`
        LabelStore(labels_path(db)).ensure_exists()
        return
    if target == "spark":
        # The local session would open the metastore the cluster's driver holds.
        cluster.refuse_local_session(db)
        # Spark never touches the DuckDB file: its tables live under <db>.spark/.
        spark_dir(db).mkdir(parents=True, exist_ok=True)
        # Spark reads the label file as text and fails on a missing path (macros/labels.sql).
        LabelStore(labels_path(db)).ensure_exists()
        return
    # DuckDB: the writer's turn (``_turn``) has made the file and waited for its readers.


def _turn(db: Path, target: str, what: str, on_wait: Callable[[str], None] | None) -> AbstractContextManager[None]:
    """The writer's turn at the DuckDB file while dbt runs on it; Spark never touches that file."""
    if target != "duckdb":
        return nullcontext()
    _check_attachable(db)
    return warehouse.writers_turn(db, what, on_wait)


def _check_attachable(db: Path) -> None:
    catalog = warehouse.catalog_name(db)
    if not PLAIN_NAME.fullmatch(catalog):
        # dbt-duckdb writes the ATTACH with the catalog name unquoted: DuckDB's parser stops at the `-`.
        raise SettingError(
            f"dbt cannot attach {db.name}: the part before its first dot ({catalog!r}) must be letters, digits and _ "
            f"(dbt-duckdb writes it unquoted); rename it, e.g. to {re.sub(r'[^A-Za-z0-9_]', '_', catalog)}{db.name[len(catalog):]}"
        )


def check_target(target: str) -> None:
    if target not in TARGETS:
        raise SettingError(f"unknown target {target!r}: use {', '.join(TARGETS)}")


def run_dbt(
    db: Path, args: list[str], echo: bool = True, target: str = "duckdb", target_path: Path | None = None,
    on_wait: Callable[[str], None] | None = None,
) -> str:
    """Run ``dbt <args>`` on ``db``'s ``target`` engine; return its output, raise ``BuildFailed`` on a non-zero exit.

    dbt writes its artifacts (manifest, compiled SQL, run results) to ``target_path``, by default
    the project's ``target/``.
    """
    check_target(target)
    # On Spark, dbt runs in a process that can also run the project's Python models (spark_python.py).
    runner = [sys.executable, "-m", "transform.spark_python"] if target in SPARK_TARGETS else [dbt_executable()]
    command = [*runner, *_project_args(args), "--target", _PROFILE_OUTPUT[target]]
    if target_path is not None:
        command += ["--target-path", str(target_path)]
    with _turn(db, target, args[0], on_wait):
        _ready(db, target)
        with _start(command, db, target=target) as proc:
            return _finish(proc, args[0], echo)


def _build_args(select: str | None, unit_tests: bool, full_refresh: bool = False) -> list[str]:
    # Unit tests check the SQL, not the data, so like dbt's own advice for production they
    # run only when asked (``make test`` runs them).
    args = ["build"] if unit_tests else ["build", "--exclude-resource-type", "unit_test"]
    if full_refresh:
        args.append("--full-refresh")
    return args + ["--select", select] if select else args


def build(
    db: Path,
    echo: bool = True,
    select: str | None = None,
    unit_tests: bool = False,
    full_refresh: bool = False,
    target: str = "duckdb",
    target_path: Path | None = None,
    on_wait: Callable[[str], None] | None = None,
) -> str:
    """``dbt build``: models and data tests, on DuckDB, on Spark in-process, or on the local cluster.
    On DuckDB it takes the writer's turn (``foundation.turns``) and waits, bounded, for the readers
    open (``on_wait`` hears what for)."""
    # The unit tests' fixtures are escaped differently on Spark: they run on DuckDB only.
    args = _build_args(select, unit_tests and target == "duckdb", full_refresh)
    return run_dbt(db, args, echo=echo, target=target, target_path=target_path, on_wait=on_wait)


class PreparedBuild:
    """``dbt build`` on ``db``, started now and run later: dbt imports and parses the project
    (seconds of start-up that need no warehouse) while the caller still writes to it.

    Use as a context manager; ``run()`` builds, and leaving without it stops the process.
    """

    def __init__(self, db: Path, echo: bool = True, on_wait: Callable[[str], None] | None = None) -> None:
        self.db = db
        self.echo = echo
        self.on_wait = on_wait
        command = [sys.executable, "-m", "transform.dbt_worker", *_project_args(_build_args(None, False))]
        self._proc = _start(command, db, stdin=subprocess.PIPE)

    def run(self) -> str:
        with _turn(self.db, "duckdb", "build", self.on_wait):
            assert self._proc.stdin is not None
            self._proc.stdin.write(GO + "\n")
            self._proc.stdin.close()
            return _finish(self._proc, "build", self.echo)

    def __enter__(self) -> PreparedBuild:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        proc = self._proc
        if proc.stdin is not None and not proc.stdin.closed:
            proc.stdin.close()  # end of input: the worker exits without building
        if proc.stdout is not None:
            proc.stdout.read()
            proc.stdout.close()
        proc.wait()
