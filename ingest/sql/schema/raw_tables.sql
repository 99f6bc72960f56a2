create schema if not exists raw;

{% include "schema/conversations_written.sql" %};

{% include "schema/messages_written.sql" %};

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

-- Each input of an ingest and the trace shape it was read in (ingest/shapes.py). A table of its
-- own, inserted once: updating a list column of raw.ingest_runs cost that table the statistics
-- that let every read of raw.messages skip its scan.
create table if not exists raw.ingest_inputs (
    ingest_id varchar not null,
    source_uri varchar not null,
    shape varchar not null
)
