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
        conversation_seq,
        {{ json_array_agg('trl_message', 'message_index, part_index') }} as trl_messages,
        {{ json_array_agg('openai_message', 'message_index, part_index') }} as openai_messages,
        coalesce(
            {{ ordered_string_agg(
                'trl_message::string', 'chr(10)', 'message_index, part_index', where="role = 'assistant'"
            ) }},
            ''
        ) as trl_trainable_text,
        coalesce(
            {{ ordered_string_agg(
                'openai_message::string', 'chr(10)', 'message_index, part_index', where="role = 'assistant'"
            ) }},
            ''
        ) as openai_trainable_text
    from message_rows
    group by all
)

-- Left joins from the filters, each on its right side's unique key: a query that reads only
-- the filters and the key (as a key test does) skips aggregating every message.
select
    {{ filter_columns('filters') }},
    {{ slash_key(['filters.source_config', 'filters.conversation_id']) }} as sample_id,
    -- Reads only the right side's key, so the export selects rows without rendering them.
    conversations.conversation_id is not null as has_messages,
    -- A conversation without a message to render is kept, empty: the export leaves it out
    -- and counts it (no_messages).
    coalesce(conversations.trl_messages, {{ json_literal('[]') }}) as trl_messages,
    coalesce(conversations.openai_messages, {{ json_literal('[]') }}) as openai_messages,
    coalesce(conversations.trl_trainable_text, '') as trl_trainable_text,
    coalesce(conversations.openai_trainable_text, '') as openai_trainable_text,
    tools.tools
from filters
left join conversations
    on
        {{ same_conversation('filters', 'conversations') }}
left join tools
    on filters.tools_hash = tools.tools_hash
