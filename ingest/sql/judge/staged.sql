-- A verdict per row read: the key, flags and content hash, or why it was rejected (with its text).
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
