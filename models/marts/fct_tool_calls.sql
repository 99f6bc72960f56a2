{{ config(contract=mart_contract()) }}

with

calls as (
    select * from {{ ref('int_tool_calls') }}
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

-- The calls, text and all, must be the side DuckDB streams, never the one it hashes: every other
-- side is filtered or left-joined so that its estimated size stays below the calls' (with an
-- inner join to the conversations, DuckDB hashed the calls and ran out of memory at 60,000
-- real-shaped rows). Streaming the calls also keeps this table in their (ingest) order.
joined as (
    select
        calls.source_config,
        calls.conversation_id,
        calls.conversation_seq,
        conversations.category,
        calls.message_index,
        calls.call_index,
        calls.tool_name,
        calls.arguments,
        calls.call_text,
        calls.is_valid_json,
        calls.is_closed,
        calls.parse_issue,
        calls.missing_arguments,
        calls.call_signature,
        responses.tool_call_id,
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

select
    {{ slash_key(['source_config', 'conversation_id', 'message_index', 'call_index']) }} as tool_call_key,
    *
from joined
