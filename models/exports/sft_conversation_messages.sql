{#-
    Each conversation's structured messages, in TRL and OpenAI form, up to its last assistant turn,
    with the export filters, the system text of both modes and the tools. The messages after the
    system message are aggregated once, as comma-joined JSON elements; sft_trl_messages and
    sft_openai put the system message of the chosen mode in front.
-#}
with

filters as (
    select * from {{ ref('sft_conversation_filters') }}
),

kept_rows as (
    select * from {{ ref('sft_trimmed_message_rows') }}
),

system_prompts as (
    select * from {{ ref('int_system_prompts') }}
),

tools as (
    select * from {{ ref('sft_tools') }}
),

conversations as (
    select
        source_config,
        conversation_id,
        conversation_seq,
        {{ json_elements_agg('trl_message', 'message_index, part_index') }} as trl_elements,
        {{ json_elements_agg('openai_message', 'message_index, part_index') }} as openai_elements,
        max(case when is_reasoning_only then 1 else 0 end) = 1 as has_reasoning_only_turn
    from kept_rows
    group by all
)

-- Left joins from the filters, each on its right side's unique key: a query that reads only
-- the filters and the key (as a key test does) skips aggregating every message.
select
    {{ filter_columns('filters') }},
    {{ slash_key(['filters.source_config', 'filters.conversation_id']) }} as sample_id,
    -- Reads only the right side's key, so the export selects rows without rendering them.
    conversations.conversation_id is not null as has_messages,
    coalesce(conversations.has_reasoning_only_turn, false) as has_reasoning_only_turn,
    conversations.trl_elements,
    conversations.openai_elements,
    {{ json_object_of([('role', "'system'"), ('content', system_text('filters', 'system_prompts', 'structured'))]) }}
        as structured_system_message,
    {{ json_object_of([('role', "'system'"), ('content', system_text('filters', 'system_prompts', 'verbatim'))]) }}
        as verbatim_system_message,
    {{ system_text('filters', 'system_prompts', 'structured') }} is not null as has_structured_system_message,
    system_prompts.system_prompt is not null as has_verbatim_system_message,
    {{ given_tools('filters', 'tools') }} as tools
from filters
left join conversations
    on
        {{ same_conversation('filters', 'conversations') }}
left join system_prompts
    on filters.system_prompt_hash = system_prompts.system_prompt_hash
left join tools
    on filters.tools_hash = tools.tools_hash
