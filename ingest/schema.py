"""DDL of the raw layer: what dbt declares as sources."""

from __future__ import annotations

import duckdb

# Ingest commits batch by batch (a transaction's appended rows stay in memory until it commits),
# into the *_written tables. Their rows become visible in raw.conversations and raw.rejected_rows
# only once their ingest has finished: a killed ingest leaves what readers see as it was.
CONVERSATIONS_DDL = """
create table if not exists raw.conversations_written (
    conversation_id varchar not null,
    source_config varchar not null,
    category varchar,
    subcategory varchar,
    task varchar,
    -- The tools text and the leading system prompt repeat on nearly every row: each distinct
    -- text is stored once (raw.toolsets, raw.system_prompts) and rows carry its md5.
    tools_hash varchar not null,
    system_prompt_hash varchar,
    -- The turns are rows of raw.messages_written, keyed by conversation_seq.
    n_messages integer not null,
    source_uri varchar not null,
    source_row bigint,
    ingested_at timestamp not null,
    ingest_id varchar not null,
    content_hash varchar not null,
    ingest_flags varchar[] not null,
    -- Ingest order, across ingests, and the written row's own number (a re-ingested conversation
    -- gets a new one). Every table built from raw keeps roughly this order, so a range of it is a
    -- few row groups of each: the export reads conversations in such ranges, which ids (random
    -- ones, say) need not give.
    conversation_seq bigint not null
)"""

# One row per turn, not a list per conversation: DuckDB scans 2,048 rows at a time, and 2,048
# real-shaped conversations (110 KB each) are 225 MB per scan thread; 2,048 messages are ~10 MB.
MESSAGES_DDL = """
create table if not exists raw.messages_written (
    conversation_seq bigint not null,
    source_config varchar not null,
    conversation_id varchar not null,
    message_index integer not null,
    "from" varchar not null,
    -- The turn's text as given; null for a leading system turn (stored once, see system_prompt_hash).
    "value" varchar,
    -- The conversation row's, repeated so that reading messages needs no join: its tools, its
    -- system prompt (on message 0 only) and when it was ingested.
    tools_hash varchar not null,
    system_prompt_hash varchar,
    ingested_at timestamp not null,
    ingest_id varchar not null
)"""

RAW_DDL = f"""
create schema if not exists raw;

{CONVERSATIONS_DDL};

{MESSAGES_DDL};

create table if not exists raw.toolsets (
    tools_hash varchar primary key,
    tools varchar
);

create table if not exists raw.system_prompts (
    system_prompt_hash varchar primary key,
    system_prompt varchar not null
);

create table if not exists raw.rejected_rows_written (
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

RAW_VIEWS_DDL = """
create or replace view raw.conversations as
select * from raw.conversations_written
where ingest_id not in (select ingest_id from raw.ingest_runs where finished_at is null);

create or replace view raw.messages as
select * exclude (ingest_id) from raw.messages_written
where ingest_id not in (select ingest_id from raw.ingest_runs where finished_at is null);

create or replace view raw.rejected_rows as
select * from raw.rejected_rows_written
where ingest_id not in (select ingest_id from raw.ingest_runs where finished_at is null);
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


# How a row's repeated texts are split off ({tools}: its tools text, {turns}: its turns) ...
TOOLS_HASH = "md5(coalesce({tools}, ''))"
SYSTEM_PROMPT = """case when {turns}[1]."from" = 'system' then {turns}[1]."value" end"""
SYSTEM_PROMPT_HASH = "md5(" + SYSTEM_PROMPT + ")"
TURNS_WITHOUT_SYSTEM_PROMPT = """case
    when {turns}[1]."from" = 'system'
        then list_concat([{{'from': 'system', 'value': null::varchar}}], {turns}[2:])
    else {turns}
end"""

# ... and put back: the turns as given of raw.conversations_written rows r, from their messages
# with the system prompt's text, for the conversation_seqs in {seqs} (a subquery).
TURNS_AS_GIVEN = """
select
    m.conversation_seq,
    list(
        {{'from': m."from", 'value': coalesce(m."value", case when m.message_index = 0 then p.system_prompt end)}}
        order by m.message_index
    ) as turns
from raw.messages_written as m
inner join raw.conversations_written as r on m.conversation_seq = r.conversation_seq
left join raw.system_prompts as p on r.system_prompt_hash = p.system_prompt_hash
where m.conversation_seq in ({seqs})
group by m.conversation_seq"""

# The layout before turns became rows of raw.messages_written: what the migrations below go through.
_CONVERSATIONS_WITH_TURNS_DDL = """
create table raw.conversations_written (
    conversation_id varchar not null,
    source_config varchar not null,
    category varchar,
    subcategory varchar,
    task varchar,
    tools_hash varchar not null,
    system_prompt_hash varchar,
    conversations struct("from" varchar, "value" varchar)[] not null,
    source_uri varchar not null,
    source_row bigint,
    ingested_at timestamp not null,
    ingest_id varchar not null,
    content_hash varchar not null,
    ingest_flags varchar[] not null,
    conversation_seq bigint not null
)"""

# Warehouses written before the repeated texts were stored once kept them on every row.
_MIGRATE_TO_STORED_ONCE = f"""
alter table raw.conversations_written rename to conversations_before_stored_once;
{_CONVERSATIONS_WITH_TURNS_DDL};
insert or ignore into raw.toolsets
select {TOOLS_HASH.format(tools="tools")}, tools from raw.conversations_before_stored_once;
insert or ignore into raw.system_prompts
select {SYSTEM_PROMPT_HASH.format(turns="conversations")}, {SYSTEM_PROMPT.format(turns="conversations")}
from raw.conversations_before_stored_once
where {SYSTEM_PROMPT.format(turns="conversations")} is not null;
insert into raw.conversations_written by name
select
    * exclude (tools, conversations),
    {TOOLS_HASH.format(tools="tools")} as tools_hash,
    {SYSTEM_PROMPT_HASH.format(turns="conversations")} as system_prompt_hash,
    {TURNS_WITHOUT_SYSTEM_PROMPT.format(turns="conversations")} as conversations,
    rowid + 1 as conversation_seq
from raw.conversations_before_stored_once;
drop table raw.conversations_before_stored_once
"""

# Warehouses written before conversations were numbered in ingest order: stored order is
# ingest order.
_MIGRATE_TO_CONVERSATION_SEQ = """
alter table raw.conversations_written add column conversation_seq bigint;
update raw.conversations_written set conversation_seq = rowid + 1
"""


# Warehouses written before turns became rows: each list becomes rows of raw.messages_written.
_MIGRATE_TO_MESSAGE_ROWS = f"""
insert into raw.messages_written
select
    conversation_seq, source_config, conversation_id, message_index, turn."from", turn."value", tools_hash,
    case when message_index = 0 then system_prompt_hash end, ingested_at, ingest_id
from (
    select
        *, unnest(conversations) as turn, (generate_subscripts(conversations, 1) - 1)::integer as message_index
    from raw.conversations_written
)
order by conversation_seq, message_index;
alter table raw.conversations_written add column n_messages integer;
update raw.conversations_written set n_messages = len(conversations);
alter table raw.conversations_written rename to conversations_with_turns;
{CONVERSATIONS_DDL};
insert into raw.conversations_written by name
select * exclude (conversations) from raw.conversations_with_turns order by conversation_seq;
drop table raw.conversations_with_turns
"""


def ensure_raw_schema(con: duckdb.DuckDBPyConnection) -> None:
    con.execute("create schema if not exists raw")
    # Warehouses written before ingest committed batch by batch had the tables under the views' names.
    for name in ("conversations", "rejected_rows"):
        if _table_type(con, name) == "BASE TABLE":
            con.execute(f"alter table raw.{name} rename to {name}_written")
    con.execute(RAW_DDL)
    # Migrations, in the order the layouts changed.
    if _has_column(con, "conversations_written", "tools"):
        con.execute(_MIGRATE_TO_STORED_ONCE)
    if not _has_column(con, "conversations_written", "conversation_seq"):
        con.execute(_MIGRATE_TO_CONVERSATION_SEQ)
    if _has_column(con, "conversations_written", "conversations"):
        con.execute("drop view if exists raw.conversations")
        con.execute(_MIGRATE_TO_MESSAGE_ROWS)
    con.execute(RAW_VIEWS_DDL)


def _has_column(con: duckdb.DuckDBPyConnection, table: str, column: str) -> bool:
    return bool(
        con.execute(
            "select count(*) from information_schema.columns where table_catalog = current_database() "
            "and table_schema = 'raw' and table_name = $table and column_name = $column",
            {"table": table, "column": column},
        ).fetchone()[0]
    )


def _table_type(con: duckdb.DuckDBPyConnection, name: str) -> str | None:
    row = con.execute(
        "select table_type from information_schema.tables "
        "where table_catalog = current_database() and table_schema = 'raw' and table_name = $name",
        {"name": name},
    ).fetchone()
    return row[0] if row else None
