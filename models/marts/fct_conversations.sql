{{ config(contract=mart_contract()) }}

with

conversations as (
    select * from {{ ref('stg_conversations') }}
    {{ where_new_conversations() }}
),

messages as (
    select * from {{ ref('stg_messages') }}
    {{ where_new_conversations() }}
),

turns as (
    select * from {{ ref('fct_assistant_turns') }}
    {{ where_new_conversations() }}
),

calls as (
    select * from {{ ref('fct_tool_calls') }}
    {{ where_new_conversations() }}
),

responses as (
    select * from {{ ref('fct_tool_responses') }}
    {{ where_new_conversations() }}
),

thoughts as (
    select * from {{ ref('fct_thoughts') }}
    {{ where_new_conversations() }}
),

message_stats as (
    select
        source_config,
        conversation_id,
        conversation_seq,
        {{ value_at_max('role', 'message_index') }} as last_role,
        -- Read here, where every message's text is read anyway: alone it costs a scan of them all.
        {{ value_at_min(
            "case when role = 'user' then content end", "case when role = 'user' then message_index end"
        ) }} as first_user_message,
        sum(length(content))::bigint as n_message_chars,
        bool_or(
            role = 'user' and message_index > 1 and {{ regex_matches('content', iteration_limit_pattern()) }}
        ) as hit_iteration_limit
    from messages
    group by all
),

turn_stats as (
    select
        source_config,
        conversation_id,
        conversation_seq,
        count(*) as n_assistant_turns,
        coalesce(max(n_tool_calls), 0) as max_parallel_width,
        {{ value_at_max('n_tool_calls = 0 and has_text', 'message_index') }} as last_turn_answers,
        max(message_index) as last_assistant_index
    from turns
    group by all
),

sequenced_calls as (
    select
        source_config,
        conversation_id,
        conversation_seq,
        message_index,
        call_signature,
        is_error,
        has_response,
        lag(call_signature, 1) over call_order as previous_signature,
        lag(call_signature, 2) over call_order as second_previous_signature
    from calls
    window call_order as (partition by source_config, conversation_id order by message_index, call_index)
),

call_stats as (
    select
        source_config,
        conversation_id,
        conversation_seq,
        count(*) as n_tool_calls,
        count(*) filter (where parse_issue is null) as n_valid_tool_calls,
        count(*) filter (where parse_issue is not null) as n_malformed_calls,
        count(distinct tool_name) as n_distinct_tools,
        count(*) filter (where not has_response) as n_unanswered_calls
    from calls
    group by all
),

loop_stats as (
    select
        source_config,
        conversation_id,
        conversation_seq,
        bool_or(
            call_signature = previous_signature and call_signature = second_previous_signature
        ) as has_stuck_loop,
        max(message_index) filter (where is_error) as last_error_index
    from sequenced_calls
    group by all
),

success_after_error as (
    select
        calls.source_config,
        calls.conversation_id,
        calls.conversation_seq,
        bool_or(calls.has_response and not calls.is_error) as has_success_after_last_error
    from sequenced_calls as calls
    inner join loop_stats
        on
            {{ same_conversation('calls', 'loop_stats') }}
    where calls.message_index > loop_stats.last_error_index
    group by all
),

response_stats as (
    select
        source_config,
        conversation_id,
        conversation_seq,
        count(*) as n_tool_responses,
        count(*) filter (where is_error) as n_tool_errors,
        count(*) filter (where is_orphan) as n_orphan_responses
    from responses
    group by all
),

thought_stats as (
    select
        source_config,
        conversation_id,
        conversation_seq,
        count(*) as n_thoughts,
        count(*) filter (where is_empty) as n_empty_thoughts,
        count(*) filter (where is_unclosed) as n_unclosed_thoughts
    from thoughts
    group by all
),

joined as (
    select
        conversations.conversation_id,
        conversations.conversation_seq,
        conversations.source_config,
        conversations.category,
        conversations.subcategory,
        conversations.task,
        message_stats.first_user_message,
        conversations.n_messages,
        coalesce(message_stats.n_message_chars, 0) as n_message_chars,
        coalesce(turn_stats.n_assistant_turns, 0) as n_assistant_turns,
        coalesce(call_stats.n_tool_calls, 0) as n_tool_calls,
        coalesce(call_stats.n_valid_tool_calls, 0) as n_valid_tool_calls,
        coalesce(response_stats.n_tool_responses, 0) as n_tool_responses,
        coalesce(response_stats.n_tool_errors, 0) as n_tool_errors,
        coalesce(call_stats.n_malformed_calls, 0) as n_malformed_calls,
        coalesce(thought_stats.n_thoughts, 0) as n_thoughts,
        coalesce(thought_stats.n_empty_thoughts, 0) as n_empty_thoughts,
        coalesce(thought_stats.n_unclosed_thoughts, 0) as n_unclosed_thoughts,
        coalesce(turn_stats.max_parallel_width, 0) as max_parallel_width,
        coalesce(call_stats.n_distinct_tools, 0) as n_distinct_tools,
        coalesce(call_stats.n_unanswered_calls, 0) as n_unanswered_calls,
        coalesce(response_stats.n_orphan_responses, 0) as n_orphan_responses,
        message_stats.last_role,
        coalesce(message_stats.hit_iteration_limit, false) as hit_iteration_limit,
        coalesce(loop_stats.has_stuck_loop, false) as has_stuck_loop,
        coalesce(message_stats.last_role = 'assistant' and turn_stats.last_turn_answers, false) as has_final_answer,
        coalesce(success_after_error.has_success_after_last_error, false) as has_success_after_last_error,
        conversations.tools_hash,
        conversations.system_prompt_hash,
        conversations.content_hash,
        conversations.ingest_flags,
        conversations.ingested_at
    from conversations
    left join message_stats
        on
            {{ same_conversation('conversations', 'message_stats') }}
    left join turn_stats
        on
            {{ same_conversation('conversations', 'turn_stats') }}
    left join call_stats
        on
            {{ same_conversation('conversations', 'call_stats') }}
    left join loop_stats
        on
            {{ same_conversation('conversations', 'loop_stats') }}
    left join success_after_error
        on
            {{ same_conversation('conversations', 'success_after_error') }}
    left join response_stats
        on
            {{ same_conversation('conversations', 'response_stats') }}
    left join thought_stats
        on
            {{ same_conversation('conversations', 'thought_stats') }}
)

select
    {{ slash_key(['source_config', 'conversation_id']) }} as conversation_key,
    conversation_id,
    conversation_seq,
    source_config,
    category,
    subcategory,
    task,
    first_user_message,
    n_messages,
    n_message_chars,
    n_assistant_turns,
    n_tool_calls,
    n_valid_tool_calls,
    n_tool_responses,
    n_tool_errors,
    n_malformed_calls,
    n_thoughts,
    n_empty_thoughts,
    n_unclosed_thoughts,
    max_parallel_width,
    n_distinct_tools,
    n_unanswered_calls,
    n_orphan_responses,
    last_role,
    hit_iteration_limit,
    has_stuck_loop,
    has_final_answer,
    tools_hash,
    system_prompt_hash,
    content_hash,
    ingest_flags,
    ingested_at,
    n_tool_errors > 0 and (has_success_after_last_error or has_final_answer) as recovered_after_error
from joined
-- Stored in ingest order, so a range of conversation_seq is a few row groups (see the export).
order by conversation_seq
