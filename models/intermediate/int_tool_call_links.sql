{#- A call pairs with a response of the tool message after its assistant turn: by id where both carry
    one (shapes with call ids, ingest/shapes.py), else the k-th call with the k-th response. -#}
with

calls as (
    select
        source_config,
        conversation_id,
        conversation_seq,
        message_index,
        call_index,
        tool_name,
        tool_call_id
    from {{ ref('int_tool_calls') }}
),

responses as (
    select
        source_config,
        conversation_id,
        conversation_seq,
        message_index,
        response_index,
        response_name,
        tool_call_id
    from {{ ref('int_tool_responses') }}
),

linked as (
    select
        coalesce(calls.source_config, responses.source_config) as source_config,
        coalesce(calls.conversation_id, responses.conversation_id) as conversation_id,
        coalesce(calls.conversation_seq, responses.conversation_seq) as conversation_seq,
        calls.message_index as call_message_index,
        calls.call_index,
        responses.message_index as response_message_index,
        responses.response_index,
        calls.tool_name as call_name,
        responses.response_name
    from calls
    full outer join responses
        on
            {{ same_conversation('calls', 'responses') }}
            and responses.message_index = calls.message_index + 1
            and case
                when calls.tool_call_id is not null and responses.tool_call_id is not null
                    then calls.tool_call_id = responses.tool_call_id
                else calls.call_index = responses.response_index
            end
)

select
    *,
    call_index is not null and response_index is null as is_unanswered_call,
    call_index is null and response_index is not null as is_orphan_response,
    call_name is not null and response_name is not null and call_name <> response_name as is_name_mismatch
from linked
