-- The rows to write (view to_load), numbered after the warehouse's last conversation_seq, with
-- their repeated texts' hashes. The numbering is a window over every row with no partition, which
-- Spark runs as one task: it numbers the rows' positions alone and the payload joins back, so the
-- texts are never gathered onto one core.
with numbered as (
    select
        input_index,
        source_row,
        :seq_base + row_number() over (order by input_index, source_row) as conversation_seq
    from to_load
)

select
    to_load.*,
    numbered.conversation_seq,
    md5(coalesce(to_load.tools, '')) as tools_hash,
    case when to_load.turns[0].`from` = 'system' then to_load.turns[0].`value` end as system_prompt,
    current_timestamp() as ingested_at
from to_load
inner join numbered
    on to_load.input_index = numbered.input_index and to_load.source_row = numbered.source_row
