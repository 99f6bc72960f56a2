-- Every row this ingest has loaded so far, written or unchanged (an unchanged row is not
-- rewritten, so the written rows alone would not show it).
create or replace temp table run_rows (
    source_config varchar,
    conversation_id varchar,
    source_uri varchar,
    source_row bigint,
    content_hash varchar
)
