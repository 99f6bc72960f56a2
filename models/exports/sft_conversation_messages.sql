{#- Each conversation's structured messages, in TRL and OpenAI form, with the kept filters and tools. -#}
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
        to_json(list(trl_message order by message_index, part_index)) as trl_messages,
        to_json(list(openai_message order by message_index, part_index)) as openai_messages,
        coalesce(
            string_agg(trl_message::varchar, chr(10) order by message_index, part_index) filter (where role = 'assistant'),
            ''
        ) as trl_trainable_text,
        coalesce(
            string_agg(openai_message::varchar, chr(10) order by message_index, part_index)
            filter (where role = 'assistant'),
            ''
        ) as openai_trainable_text
    from message_rows
    group by all
)

select
    filters.*,
    conversations.source_config || '/' || conversations.conversation_id as sample_id,
    conversations.trl_messages,
    conversations.openai_messages,
    conversations.trl_trainable_text,
    conversations.openai_trainable_text,
    tools.tools
from conversations
inner join filters
    on
        conversations.source_config = filters.source_config
        and conversations.conversation_id = filters.conversation_id
inner join tools
    on filters.tools_hash = tools.tools_hash
