{#- One row per well-formed assistant turn: the structured messages before it, and the turn itself. -#}
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

with_context as (
    select
        *,
        {{ window_list('trl_message') }} over (
            partition by source_config, conversation_id, conversation_seq order by message_index, part_index
            rows between unbounded preceding and 1 preceding
        ) as prompt_messages,
        bool_or(has_malformed_call) over (
            partition by source_config, conversation_id, conversation_seq order by message_index, part_index
            rows between unbounded preceding and current row
        ) as malformed_so_far
    from message_rows
)

select
    {{ filter_columns('filters', except=['has_malformed_call']) }},
    with_context.malformed_so_far as has_malformed_call,
    {{ slash_key([
        'with_context.source_config', 'with_context.conversation_id', 'with_context.message_index',
    ]) }} as sample_id,
    sample_id as id,
    {{ json_array_of_list('with_context.prompt_messages') }} as prompt,
    {{ json_array_of_one('with_context.trl_message') }} as completion,
    tools.tools
from with_context
inner join filters
    on
        {{ same_conversation('with_context', 'filters') }}
inner join tools
    on filters.tools_hash = tools.tools_hash
where with_context.role = 'assistant'
