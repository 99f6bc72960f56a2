{#-
    One row per well-formed assistant turn: the structured messages before it, the system message
    of each mode in front, and the turn itself.
-#}
with

filters as (
    select * from {{ ref('sft_conversation_filters') }}
),

message_rows as (
    select * from {{ ref('sft_message_rows') }}
),

system_prompts as (
    select * from {{ ref('int_system_prompts') }}
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
),

system_messages as (
    select
        filters.source_config,
        filters.conversation_id,
        filters.conversation_seq,
        {{ system_text('filters', 'system_prompts', 'structured') }} as structured_text,
        system_prompts.system_prompt as verbatim_text
    from filters
    left join system_prompts
        on filters.system_prompt_hash = system_prompts.system_prompt_hash
)

select
    {{ filter_columns('filters', except=['has_malformed_call']) }},
    with_context.malformed_so_far as has_malformed_call,
    {{ slash_key([
        'with_context.source_config', 'with_context.conversation_id', 'with_context.message_index',
    ]) }} as sample_id,
    sample_id as id,
    with_context.message_index,
    {% for mode in ['structured', 'verbatim'] -%}
    {{ json_array_of_elements([
        "case when system_messages." ~ mode ~ "_text is not null then ("
        ~ json_object_of([('role', "'system'"), ('content', 'system_messages.' ~ mode ~ '_text')]) ~ ")::string end",
        json_elements_of_list('with_context.prompt_messages'),
    ]) }} as {{ 'prompt' if mode == 'structured' else 'prompt_verbatim' }},
    {% endfor -%}
    {{ json_array_of_one('with_context.trl_message') }} as completion,
    {{ given_tools('filters', 'tools') }} as tools
from with_context
inner join filters
    on
        {{ same_conversation('with_context', 'filters') }}
inner join system_messages
    on
        {{ same_conversation('with_context', 'system_messages') }}
left join tools
    on filters.tools_hash = tools.tools_hash
where with_context.role = 'assistant'
