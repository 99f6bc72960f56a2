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
        conversation_seq,
        {{ json_array_agg(
            json_object_of([('from', 'raw_role'), ('value', 'content')]), 'message_index'
        ) }} as conversations,
        coalesce(
            {{ ordered_string_agg('content', 'chr(10)', 'message_index', where="role = 'assistant'") }}, ''
        ) as trainable_text
    from messages
    group by all
)

-- Left joins from the filters on unique keys, as in sft_conversation_messages.
select
    {{ filter_columns('filters') }},
    {{ slash_key(['filters.source_config', 'filters.conversation_id']) }} as sample_id,
    -- Reads only the right side's key, so the export selects rows without rendering them.
    conversations.conversation_id is not null as has_messages,
    sample_id as id,
    coalesce(conversations.conversations, {{ json_literal('[]') }}) as conversations,
    coalesce(conversations.trainable_text, '') as trainable_text,
    tools.tools::string as tools
from filters
left join conversations
    on
        {{ same_conversation('filters', 'conversations') }}
left join tools
    on filters.tools_hash = tools.tools_hash
