{{ config(contract=mart_contract()) }}
{%- set call_key = [
    'errors.source_config', 'errors.conversation_id', 'errors.call_message_index', 'errors.call_index'
] %}

{#-
    How tools fail: each error signature per config and tool, with how often it happens, in how
    many conversations, and how many of those recovered. The signature is the error's line with
    paths, numbers, ids, quoted strings and times replaced (int_tool_error_signatures).
-#}
with

errors as (
    select * from {{ ref('int_tool_error_signatures') }}
),

conversations as (
    select
        conversation_seq,
        recovered_after_error
    from {{ ref('fct_conversations') }}
),

per_conversation as (
    select
        errors.source_config,
        coalesce(errors.tool_name, '?') as tool_name,
        coalesce(errors.signature, '<empty>') as signature,
        errors.conversation_seq,
        count(*) as n_errors,
        min({{ slash_key(call_key) }}) as example_tool_call_key,
        bool_or(coalesce(conversations.recovered_after_error, false)) as recovered
    from errors
    left join conversations
        on errors.conversation_seq = conversations.conversation_seq
    group by 1, 2, 3, 4
),

signatures as (
    select
        source_config,
        tool_name,
        signature,
        cast(sum(n_errors) as bigint) as n_errors,
        count(*) as n_conversations,
        avg(case when recovered then 1.0 else 0.0 end) as recovered_share,
        min(example_tool_call_key) as example_tool_call_key
    from per_conversation
    group by 1, 2, 3
)

select
    {{ slash_key(['source_config', 'tool_name', 'signature']) }} as signature_key,
    *
from signatures
