-- Ingest writes into the *_written tables (rejections batch by batch, committed as they go; the
-- rows kept at the end). Their rows become visible in raw.conversations and raw.rejected_rows
-- only once their ingest has finished: a killed ingest leaves what readers see as it was.
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
)
