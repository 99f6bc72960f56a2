-- raw.messages rows of the new rows: one per turn, the leading system prompt stored once.
select
    conversation_seq, source_config, conversation_id, cast(message_index as int) as message_index,
    turn.`from` as `from`,
    case when message_index = 0 and turn.`from` = 'system' then null else turn.`value` end as `value`,
    tools_hash,
    case when message_index = 0 then system_prompt_hash end as system_prompt_hash,
    ingested_at
from new_rows
lateral view posexplode(turns) as message_index, turn
