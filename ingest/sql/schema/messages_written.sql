-- One row per turn, not a list per conversation: DuckDB scans 2,048 rows at a time, and 2,048
-- real-shaped conversations (110 KB each) are 225 MB per scan thread; 2,048 messages are ~10 MB.
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
)
