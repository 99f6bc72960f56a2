{#-
    LLaMA-Factory's sharegpt form, one row per conversation up to its last assistant turn: turns
    tagged human / gpt / function_call / tool (observation), a tool turn's results in one message,
    the system text in `system` and the tools as JSON text in `tools`, in both system-prompt modes.
    LLaMA-Factory skips a row whose turns do not alternate (user or observation, then assistant or
    function_call); such rows are flagged here and left out of the export, counted.
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

-- One message per source turn: the results of one tool turn are one observation, joined with the
-- separator LLaMA-Factory's own OpenAI-format converter uses (its templates add the outer tags).
turns as (
    select
        source_config,
        conversation_id,
        conversation_seq,
        message_index,
        sharegpt_from,
        {{ ordered_string_agg(
            'sharegpt_value', "chr(10) || '</tool_response>' || chr(10) || '<tool_response>' || chr(10)", 'part_index'
        ) }} as sharegpt_value
    from kept_rows
    group by all
),

positioned as (
    select
        *,
        row_number() over (
            partition by source_config, conversation_id, conversation_seq order by message_index
        ) - 1 as position
    from turns
),

conversations as (
    select
        source_config,
        conversation_id,
        conversation_seq,
        {{ json_elements_agg(
            json_object_of([('from', 'sharegpt_from'), ('value', 'sharegpt_value')]), 'message_index'
        ) }} as elements,
        max(
            case
                when position % 2 = 0 and sharegpt_from not in ('human', 'tool') then 1
                when position % 2 = 1 and sharegpt_from not in ('gpt', 'function_call') then 1
                else 0
            end
        ) = 1 as breaks_alternation
    from positioned
    group by all
)

-- Left joins from the filters on unique keys, as in sft_conversation_messages.
select
    {{ filter_columns('filters') }},
    {{ slash_key(['filters.source_config', 'filters.conversation_id']) }} as sample_id,
    -- Reads only the right side's key, so the export selects rows without rendering them.
    conversations.conversation_id is not null as has_messages,
    coalesce(conversations.breaks_alternation, false) as breaks_alternation,
    sample_id as id,
    {{ json_array_of_elements(['conversations.elements']) }} as conversations,
    coalesce({{ system_text('filters', 'system_prompts', 'structured') }}, '') as system,
    coalesce({{ system_text('filters', 'system_prompts', 'verbatim') }}, '') as system_verbatim,
    coalesce({{ given_tools('filters', 'tools') }}::string, '') as tools
from filters
left join conversations
    on
        {{ same_conversation('filters', 'conversations') }}
left join system_prompts
    on filters.system_prompt_hash = system_prompts.system_prompt_hash
left join tools
    on filters.tools_hash = tools.tools_hash
