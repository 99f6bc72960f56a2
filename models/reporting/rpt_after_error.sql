{#- What the agent does in the turn right after a tool error: retry the same tool, switch, or answer. -#}
with

calls as (
    select * from {{ ref('fct_tool_calls') }}
),

turns as (
    select * from {{ ref('fct_assistant_turns') }}
),

errored_tools as (
    select
        source_config,
        conversation_id,
        conversation_seq,
        response_message_index,
        {{ distinct_list('tool_name') }} as failed_tools
    from calls
    where is_error
    group by all
),

next_calls as (
    select
        source_config,
        conversation_id,
        conversation_seq,
        message_index,
        {{ distinct_list('tool_name') }} as next_tools
    from calls
    group by all
),

reactions as (
    select
        turns.source_config,
        case
            when turns.n_tool_calls = 0 and turns.has_text then 'answer'
            when turns.n_tool_calls = 0 then 'neither'
            when {{ lists_overlap('errored_tools.failed_tools', 'next_calls.next_tools') }} then 'retry_same_tool'
            else 'switch_tool'
        end as reaction
    from turns
    inner join errored_tools
        on
            {{ same_conversation('turns', 'errored_tools') }}
            and turns.message_index = errored_tools.response_message_index + 1
    left join next_calls
        on
            {{ same_message('turns', 'next_calls') }}
)

select
    source_config,
    reaction,
    count(*) as n_turns
from reactions
group by all
