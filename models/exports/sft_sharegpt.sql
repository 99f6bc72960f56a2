{#- The Hermes ShareGPT form: turns as given (tags intact), tools as JSON text in the function form. -#}
with

filters as (
    select * from {{ ref('sft_conversation_filters') }}
),

messages as (
    select * from {{ ref('sft_messages_as_given') }}
),

tools as (
    select * from {{ ref('sft_tools') }}
),

conversations as (
    select
        source_config,
        conversation_id,
        to_json(list(json_object('from', raw_role, 'value', content) order by message_index)) as conversations,
        coalesce(string_agg(content, chr(10) order by message_index) filter (where role = 'assistant'), '') as trainable_text
    from messages
    group by all
)

select
    filters.*,
    conversations.source_config || '/' || conversations.conversation_id as sample_id,
    sample_id as id,
    conversations.conversations,
    conversations.trainable_text,
    tools.tools::varchar as tools
from conversations
inner join filters
    on
        conversations.source_config = filters.source_config
        and conversations.conversation_id = filters.conversation_id
inner join tools
    on filters.tools_hash = tools.tools_hash
