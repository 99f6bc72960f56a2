"""``traces report --target spark|spark-cluster``: the same pages from the tables Spark built.

The ``rpt_*`` tables are computed by the Spark build; they are small (one row per chart point),
so they are read through the engine's connection into an in-memory DuckDB, where the report's
saved queries (analyses/) and charts run exactly as on the DuckDB warehouse. The header's counts
are counted by Spark.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import duckdb

from reports.render import CONFIG_COUNTS_SQL, COUNTED_TABLES, ReportError, with_every_config, write_report

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

MART_SCHEMA = "main"


def _qualified(name: str) -> str:
    return name if "." in name else f"{MART_SCHEMA}.{name}"


def report_tables(spark: SparkSession) -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB holding every ``rpt_*`` table of the Spark build, under its own name."""
    names = sorted(t.name for t in spark.catalog.listTables(MART_SCHEMA) if t.name.startswith("rpt_"))
    if not names:
        raise ReportError("Spark holds no rpt_ tables yet: run `traces build` with the same --target first")
    con = duckdb.connect()
    for name in names:
        rows = spark.table(f"{MART_SCHEMA}.{name}").toArrow()
        con.register("incoming", rows)
        con.execute(f'create table "{name}" as select * from incoming')
        con.unregister("incoming")
    return con


def render_reports_from_spark(spark: SparkSession, source: str, out: Path, exports_dir: Path | None = None) -> list[Path]:
    """Write the report's pages into ``out`` from the Spark build that ``spark`` reaches."""
    if not spark.catalog.tableExists("raw.conversations"):
        raise ReportError("Spark holds no raw tables yet: run `traces ingest` and `traces build` with the same --target")
    config_counts = with_every_config({row[0]: row[1] for row in spark.sql(CONFIG_COUNTS_SQL).collect()})
    table_counts = {name: spark.sql(f"select count(*) from {_qualified(name)}").collect()[0][0] for name in COUNTED_TABLES}
    con = report_tables(spark)
    try:
        return write_report(con, source, out, exports_dir, config_counts, table_counts)
    finally:
        con.close()
