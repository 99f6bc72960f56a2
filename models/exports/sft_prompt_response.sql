{#- One row per assistant turn: the conversation so far as text with role markers, and the turn verbatim. -#}
{#-
    The views are read where they are needed, not through import CTEs: DuckDB materialises a CTE
    read twice, and an export batch's range does not reach raw through it (every batch would
    read every conversation).
-#}
with

filters as (
    select * from {{ ref('sft_conversation_filters') }}
),

turns as (
    select
        parts.*,
        given.content as source_text
    from {{ ref('sft_assistant_parts') }} as parts
    inner join {{ ref('sft_messages_as_given') }} as given
        on
            {{ same_message('parts', 'given') }}
),

prompts as (
    select
        parts.source_config,
        parts.conversation_id,
        parts.conversation_seq,
        parts.message_index,
        {{ ordered_string_agg(
            "'<|' || earlier.role || '|>' || chr(10) || earlier.content || chr(10)", "''", 'earlier.message_index'
        ) }} as prompt_so_far
    from {{ ref('sft_assistant_parts') }} as parts
    inner join {{ ref('sft_messages_as_given') }} as earlier
        on
            {{ same_conversation('parts', 'earlier') }}
            and parts.message_index > earlier.message_index
    group by all
)

select
    {{ filter_columns('filters', except=['has_malformed_call']) }},
    turns.has_malformed_call,
    {{ slash_key(['turns.source_config', 'turns.conversation_id', 'turns.message_index']) }} as sample_id,
    {{ slash_key(['turns.source_config', 'turns.conversation_id', 'turns.message_index']) }} as id,
    turns.message_index,
    turns.turn_index,
    coalesce(prompts.prompt_so_far, '') || '<|assistant|>' || chr(10) as prompt,
    turns.source_text as response
from turns
left join prompts
    on
        {{ same_message('turns', 'prompts') }}
inner join filters
    on
        {{ same_conversation('turns', 'filters') }}
