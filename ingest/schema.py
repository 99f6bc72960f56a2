"""The raw layer dbt declares as sources: created, and migrated from earlier layouts (SQL in ingest/sql/schema/)."""

from __future__ import annotations

import duckdb

from foundation.warehouse import one_row
from ingest.sql import sql


def ensure_raw_schema(con: duckdb.DuckDBPyConnection) -> None:
    con.execute("create schema if not exists raw")
    # Warehouses written before ingest committed batch by batch had the tables under the views' names.
    for name in ("conversations", "rejected_rows"):
        if _table_type(con, name) == "BASE TABLE":
            con.execute(f"alter table raw.{name} rename to {name}_written")
    con.execute(sql("schema/raw_tables"))
    # Migrations, in the order the layouts changed.
    if _has_column(con, "conversations_written", "tools"):
        con.execute(sql("schema/migrate_to_stored_once"))
    if not _has_column(con, "conversations_written", "conversation_seq"):
        con.execute(sql("schema/migrate_to_conversation_seq"))
    if _has_column(con, "conversations_written", "conversations"):
        con.execute("drop view if exists raw.conversations")
        con.execute(sql("schema/migrate_to_message_rows"))
    con.execute(sql("schema/raw_views"))


def _has_column(con: duckdb.DuckDBPyConnection, table: str, column: str) -> bool:
    return bool(
        one_row(
            con,
            "select count(*) from information_schema.columns where table_catalog = current_database() "
            "and table_schema = 'raw' and table_name = $table and column_name = $column",
            {"table": table, "column": column},
        )[0]
    )


def _table_type(con: duckdb.DuckDBPyConnection, name: str) -> str | None:
    row = con.execute(
        "select table_type from information_schema.tables "
        "where table_catalog = current_database() and table_schema = 'raw' and table_name = $name",
        {"name": name},
    ).fetchone()
    return row[0] if row else None
