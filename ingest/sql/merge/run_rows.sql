-- Every row this ingest may load (judged loadable), with what the final statements need of it.
-- Its text is not here: it is spooled as parquet, batch by batch (spool_batch.sql).
create or replace temp table run_rows (
    seq bigint,
    source_uri varchar,
    source_config varchar,
    source_row bigint,
    conversation_id varchar,
    category varchar,
    subcategory varchar,
    task varchar,
    ingest_flags varchar[],
    content_hash varchar
)
