{#-
    The trajectory each conversation's near-duplicates are found by, as parts (one row per part; a
    text is the union of its parts' shingles, transform/near_duplicates.py): what the
    assistant did, without the tools' outputs. Each call is a part: the tool's name and the first
    `near_dup_call_chars` characters of its arguments (or of the call's text when it does not
    parse). When `near_dup_turn_chars` > 0 (default 0), each assistant turn's first that many
    characters are parts too: left out by default for cost, since the assistant's text is 80%
    thinking, ~55 KB a conversation, and reading it even to cut it short doubles the model's time
    (docs/performance.md). A view, read by int_near_duplicate_signatures.
-#}
with

calls as (
    select
        source_config,
        conversation_id,
        conversation_seq,
        tool_name,
        arguments,
        call_text
    from {{ ref('int_tool_calls') }}
),

call_parts as (
    select
        source_config,
        conversation_id,
        conversation_seq,
        coalesce(tool_name, '') || ' '
        || left(coalesce(arguments::string, call_text, ''), {{ var('near_dup_call_chars') }}) as text
    from calls
),

assistant_messages as (
    select
        source_config,
        conversation_id,
        conversation_seq,
        content
    from {{ ref('stg_messages') }}
    -- A constant false by default: the plan then never reads the assistant's text.
    where raw_role in ('gpt', 'assistant') and {{ var('near_dup_turn_chars') }} > 0
),

turn_parts as (
    select
        source_config,
        conversation_id,
        conversation_seq,
        left(content, {{ var('near_dup_turn_chars') }}) as text
    from assistant_messages
),

parts as (
    select * from call_parts
    union all
    select * from turn_parts
)

select * from parts
