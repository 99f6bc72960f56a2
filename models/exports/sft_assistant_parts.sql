{#-
    The structured fields trainers read from an assistant message: its text outside think and call
    blocks (as the build found it), reasoning and well-formed calls (malformed ones are left out).
    Not the message's text: the models that render messages read it once, with every other message.
-#}
with

turns as (
    select * from {{ ref('fct_assistant_turns') }}
),

thoughts as (
    select
        source_config,
        conversation_id,
        conversation_seq,
        message_index,
        {{ ordered_string_agg('thought_raw', 'chr(10)', 'thought_index') }} as reasoning_content
    from {{ ref('fct_thoughts') }}
    group by all
),

calls as (
    select
        source_config,
        conversation_id,
        conversation_seq,
        message_index,
        {{ json_array_agg(
            json_object_of([
                ('type', "'function'"),
                ('function', json_object_of([('name', 'tool_name'), ('arguments', 'arguments', 'json')]), 'json'),
            ]),
            'call_index',
            where='parse_issue is null'
        ) }} as trl_tool_calls,
        {{ json_array_agg(
            json_object_of([
                ('id', "coalesce(tool_call_id, 'call_' || message_index || '_' || call_index)"),
                ('type', "'function'"),
                ('function', json_object_of([('name', 'tool_name'), ('arguments', 'arguments::string')]), 'json'),
            ]),
            'call_index',
            where='parse_issue is null'
        ) }} as openai_tool_calls,
        -- LLaMA-Factory's function_call form: a list of {name, arguments}.
        {{ json_array_agg(
            json_object_of([('name', 'tool_name'), ('arguments', 'arguments', 'json')]),
            'call_index',
            where='parse_issue is null'
        ) }} as sharegpt_tool_calls,
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
    turns.text_outside_blocks,
    thoughts.reasoning_content,
    coalesce(calls.n_valid_calls, 0) as n_valid_calls,
    calls.trl_tool_calls,
    calls.openai_tool_calls,
    calls.sharegpt_tool_calls
from turns
left join thoughts
    on
        {{ same_message('turns', 'thoughts') }}
left join calls
    on
        {{ same_message('turns', 'calls') }}
