-- raw.conversations rows of the new rows.
select
    conversation_id, source_config, category, subcategory, task, tools_hash, system_prompt_hash,
    size(turns) as n_messages, source_uri, source_row, ingested_at, :ingest_id as ingest_id, content_hash,
    ingest_flags, conversation_seq
from new_rows
