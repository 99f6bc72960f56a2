{#- The k-th call of an assistant turn pairs with the k-th response of the tool message after it. -#}
with

calls as (
    select
        source_config,
        conversation_id,
        conversation_seq,
        message_index,
        call_index,
        tool_name
    from {{ ref('int_tool_calls') }}
),

responses as (
    select
        source_config,
        conversation_id,
        conversation_seq,
        message_index,
        response_index,
        response_name
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
            and calls.call_index = responses.response_index
)

select
    *,
    call_index is not null and response_index is null as is_unanswered_call,
    call_index is null and response_index is not null as is_orphan_response,
    call_name is not null and response_name is not null and call_name <> response_name as is_name_mismatch
from linked
