{#-
    A view: the call's arguments (and the text of a call that did not parse) are stored once, in
    int_tool_calls; stored again in a table here they were a sixth of the warehouse's size.
-#}
{{ config(materialized='view', contract=mart_contract()) }}

with

call_texts as (
    select
        source_config,
        conversation_id,
        conversation_seq,
        message_index,
        call_index,
        arguments,
        call_text
    from {{ ref('int_tool_calls') }}
),

-- Always true (the ingest names every config; a row it dropped would leave its call with null
-- outcome columns, which fail the not-null checks), but DuckDB estimates a function's filter
-- to keep a fifth of the rows: the outcomes then look the smaller side, and it hashes them and
-- streams the texts. Unfiltered, it hashed the texts, the narrower projection.
outcomes as (
    select * from {{ ref('int_tool_call_outcomes') }}
    where length(source_config) > 0
),

schema_checks as (
    select * from {{ ref('int_tool_call_schema_checks') }}
)

select
    {{ slash_key([
        'call_texts.source_config', 'call_texts.conversation_id', 'call_texts.message_index', 'call_texts.call_index',
    ]) }} as tool_call_key,
    call_texts.source_config,
    call_texts.conversation_id,
    call_texts.conversation_seq,
    outcomes.category,
    call_texts.message_index,
    call_texts.call_index,
    outcomes.tool_name,
    call_texts.arguments,
    call_texts.call_text,
    outcomes.is_valid_json,
    outcomes.is_closed,
    outcomes.parse_issue,
    outcomes.missing_arguments,
    outcomes.call_signature,
    outcomes.tool_call_id,
    outcomes.has_response,
    outcomes.response_message_index,
    outcomes.response_name,
    outcomes.is_name_mismatch,
    outcomes.is_error,
    outcomes.error_type,
    outcomes.budget_warning,
    schema_checks.schema_issue,
    schema_checks.schema_issue_argument
-- A left join, so that the texts are the side DuckDB streams, never the one it hashes: a call
-- with no outcome row would keep its key and fail the not-null checks, not vanish.
from call_texts
left join outcomes
    on
        {{ same_message('call_texts', 'outcomes') }}
        and call_texts.call_index = outcomes.call_index
left join schema_checks
    on
        {{ same_message('call_texts', 'schema_checks') }}
        and call_texts.call_index = schema_checks.call_index
