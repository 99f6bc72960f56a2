with

filters as (
    select * from {{ ref('sft_conversation_filters') }}
),

message_rows as (
    select * from {{ ref('sft_message_rows') }}
),

tools as (
    select * from {{ ref('sft_tools') }}
),

conversations as (
    select
        source_config,
        conversation_id,
        to_json(list(trl_message order by message_index, part_index)) as messages,
        coalesce(string_agg(trl_message::varchar, chr(10) order by message_index, part_index) filter (where role = 'assistant'), '')
            as trainable_text
    from message_rows
    group by all
)

select
    filters.*,
    conversations.source_config || '/' || conversations.conversation_id as sample_id,
    sample_id as id,
    conversations.messages,
    conversations.trainable_text,
    tools.tools
from conversations
inner join filters
    on
        conversations.source_config = filters.source_config
        and conversations.conversation_id = filters.conversation_id
inner join tools
    on filters.tools_hash = tools.tools_hash
