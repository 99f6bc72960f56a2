{#-
    Everything fct_tool_calls says about a call but its text: the call's parse, its response
    and outcome. fct_tool_calls is a view that adds the arguments (and the text of calls that
    did not parse) from int_tool_calls, where they are stored once.
-#}
with

calls as (
    select
        source_config,
        conversation_id,
        conversation_seq,
        message_index,
        call_index,
        tool_name,
        is_valid_json,
        is_closed,
        parse_issue,
        missing_arguments,
        call_signature,
        tool_call_id
    from {{ ref('int_tool_calls') }}
    {{ where_new_conversations() }}
),

links as (
    select * from {{ ref('int_tool_call_links') }}
    where call_index is not null {{ only_new_rows('conversation_seq') }}
),

responses as (
    select
        source_config,
        conversation_id,
        conversation_seq,
        message_index,
        response_index,
        tool_call_id,
        response_name,
        error_type,
        budget_warning
    from {{ ref('int_tool_responses') }}
    where response_index is not null {{ only_new_rows('conversation_seq') }}
),

conversations as (
    select
        source_config,
        conversation_id,
        conversation_seq,
        category
    from {{ ref('stg_conversations') }}
    {{ where_new_conversations() }}
),

-- The calls are the side DuckDB streams (every other side is filtered or left-joined, so that
-- its estimated size stays below theirs): this table keeps their (ingest) order, and
-- fct_tool_calls, which adds their text, reads both in that order.
joined as (
    select
        calls.source_config,
        calls.conversation_id,
        calls.conversation_seq,
        conversations.category,
        calls.message_index,
        calls.call_index,
        calls.tool_name,
        calls.is_valid_json,
        calls.is_closed,
        calls.parse_issue,
        calls.missing_arguments,
        calls.call_signature,
        -- The call's own id (shapes with call ids), else the one its response names.
        coalesce(calls.tool_call_id, responses.tool_call_id) as tool_call_id,
        responses.response_index is not null as has_response,
        responses.message_index as response_message_index,
        responses.response_name,
        coalesce(links.is_name_mismatch, false) as is_name_mismatch,
        coalesce(responses.error_type is not null, false) as is_error,
        responses.error_type,
        responses.budget_warning
    from calls
    left join conversations
        on
            {{ same_conversation('calls', 'conversations') }}
    left join links
        on
            {{ same_call('calls', 'links') }}
    left join responses
        on
            {{ same_response('responses', 'links') }}
)

select * from joined
