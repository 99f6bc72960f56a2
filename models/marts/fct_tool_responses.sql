{#-
    A view: the response content (tool output, the bulk of a trace's text) is stored once, in
    int_tool_responses, and read from there; its other columns are cheap to join on each query.
-#}
{{ config(materialized='view', contract=mart_contract()) }}

with

responses as (
    select * from {{ ref('int_tool_responses') }}
),

links as (
    select * from {{ ref('int_tool_call_links') }}
    where response_index is not null
),

signatures as (
    select
        source_config,
        conversation_id,
        conversation_seq,
        message_index,
        response_index,
        signature
    from {{ ref('int_tool_error_signatures') }}
),

joined as (
    select
        responses.source_config,
        responses.conversation_id,
        responses.conversation_seq,
        responses.message_index,
        responses.response_index,
        responses.tool_call_id,
        responses.response_name as tool_name,
        responses.is_text_content,
        responses.is_valid_json,
        responses.is_closed,
        responses.error_type is not null as is_error,
        responses.error_type,
        responses.budget_warning,
        responses.content,
        links.call_message_index,
        links.call_index,
        links.is_orphan_response as is_orphan,
        links.is_name_mismatch,
        signatures.signature as error_signature
    from responses
    inner join links
        on
            {{ same_response('responses', 'links') }}
    left join signatures
        on
            {{ same_message('responses', 'signatures') }}
            and responses.response_index = signatures.response_index
)

select
    {{ slash_key(['source_config', 'conversation_id', 'message_index', 'response_index']) }} as tool_response_key,
    *
from joined
