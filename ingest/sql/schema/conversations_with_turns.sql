-- The layout before turns became rows of raw.messages_written: what the migrations go through.
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
)
