-- Rows just written whose tools text or system prompt is not stored yet (rare after the first batch).
create or replace temp table to_load as
select r.source_row
from raw.conversations_written as r
where
    r.ingest_id = $ingest_id
    and r.source_uri = $uri
    and r.source_row in (select source_row from to_load)
    and (
        r.tools_hash not in (select tools_hash from raw.toolsets)
        or r.system_prompt_hash not in (select system_prompt_hash from raw.system_prompts)
    )
