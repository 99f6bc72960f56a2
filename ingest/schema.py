"""DDL of the raw layer: what dbt declares as sources."""

from __future__ import annotations

import duckdb

RAW_DDL = """
create schema if not exists raw;

create table if not exists raw.conversations (
    conversation_id varchar not null,
    source_config varchar not null,
    category varchar,
    subcategory varchar,
    task varchar,
    tools varchar,
    conversations struct("from" varchar, "value" varchar)[] not null,
    source_uri varchar not null,
    source_row bigint,
    ingested_at timestamp not null,
    ingest_id varchar not null,
    content_hash varchar not null,
    ingest_flags varchar[] not null
);

create table if not exists raw.rejected_rows (
    source_uri varchar not null,
    source_row bigint,
    source_config varchar,
    reason varchar not null,
    raw_text varchar,
    rejected_at timestamp not null,
    ingest_id varchar not null
);

create table if not exists raw.ingest_runs (
    ingest_id varchar primary key,
    started_at timestamp not null,
    finished_at timestamp,
    sources varchar[] not null,
    rows_read bigint,
    rows_loaded bigint,
    rows_rejected bigint,
    rows_unchanged bigint
);
"""

# A verdict per row read: the key, flags and content hash, or why it was rejected (with its text).
STAGED_DDL = """
create or replace temp table staged (
    seq bigint,
    source_uri varchar,
    source_config varchar,
    source_row bigint,
    conversation_id varchar,
    category varchar,
    subcategory varchar,
    task varchar,
    ingest_flags varchar[],
    content_hash varchar,
    reject_reason varchar,
    raw_text varchar
)
"""


def ensure_raw_schema(con: duckdb.DuckDBPyConnection) -> None:
    con.execute(RAW_DDL)
