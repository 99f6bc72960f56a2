{#- An assistant message split into the structured fields trainers read. Malformed calls are left out. -#}
with

turns as (
    select * from {{ ref('fct_assistant_turns') }}
),

messages as (
    select * from {{ ref('stg_messages') }}
    where role = 'assistant'
),

thoughts as (
    select
        source_config,
        conversation_id,
        conversation_seq,
        message_index,
        string_agg(thought_raw, chr(10) order by thought_index) as reasoning_content
    from {{ ref('fct_thoughts') }}
    group by all
),

calls as (
    select
        source_config,
        conversation_id,
        conversation_seq,
        message_index,
        to_json(list(
            json_object('type', 'function', 'function', json_object('name', tool_name, 'arguments', arguments))
            order by call_index
        ) filter (where parse_issue is null)) as trl_tool_calls,
        to_json(list(
            json_object(
                'id', coalesce(tool_call_id, 'call_' || message_index || '_' || call_index),
                'type', 'function',
                'function', json_object('name', tool_name, 'arguments', arguments::varchar)
            )
            order by call_index
        ) filter (where parse_issue is null)) as openai_tool_calls,
        count(*) filter (where parse_issue is null) as n_valid_calls
    from {{ ref('fct_tool_calls') }}
    group by all
)

select
    turns.source_config,
    turns.conversation_id,
    turns.conversation_seq,
    turns.message_index,
    turns.turn_index,
    turns.n_malformed_calls > 0 as has_malformed_call,
    messages.content as source_text,
    {{ outside_blocks('messages.content') }} as content,
    thoughts.reasoning_content,
    coalesce(calls.n_valid_calls, 0) as n_valid_calls,
    calls.trl_tool_calls,
    calls.openai_tool_calls
from turns
inner join messages
    on
        turns.source_config = messages.source_config
        and turns.conversation_id = messages.conversation_id
        and turns.conversation_seq = messages.conversation_seq
        and turns.message_index = messages.message_index
left join thoughts
    on
        turns.source_config = thoughts.source_config
        and turns.conversation_id = thoughts.conversation_id
        and turns.conversation_seq = thoughts.conversation_seq
        and turns.message_index = thoughts.message_index
left join calls
    on
        turns.source_config = calls.source_config
        and turns.conversation_id = calls.conversation_id
        and turns.conversation_seq = calls.conversation_seq
        and turns.message_index = calls.message_index
