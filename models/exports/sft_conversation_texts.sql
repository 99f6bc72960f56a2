{#- Plain text of each conversation, for token statistics: all of it, and the assistant's part. -#}
with

messages as (
    select * from {{ ref('stg_messages') }}
)

select
    source_config,
    conversation_id,
    string_agg(content, chr(10) order by message_index) as total_text,
    coalesce(string_agg(content, chr(10) order by message_index) filter (where role = 'assistant'), '') as trainable_text
from messages
group by all
