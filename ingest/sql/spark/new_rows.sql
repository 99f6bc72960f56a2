-- The rows to write (view to_load), numbered after the warehouse's last conversation_seq, with
-- their repeated texts' hashes.
select
    *,
    :seq_base + row_number() over (order by input_index, source_row) as conversation_seq,
    md5(coalesce(tools, '')) as tools_hash,
    case when turns[0].`from` = 'system' then turns[0].`value` end as system_prompt,
    current_timestamp() as ingested_at
from to_load
