-- The delete_reingested pre-hook (dbt_project.yml) reads stg_conversations.
-- depends_on: {{ ref('stg_conversations') }}
{{ config(contract=mart_contract()) }}

with

messages as (
    select * from {{ ref('stg_messages') }}
    {{ where_new_conversations() }}
),

-- What each assistant message wrote outside think and call blocks (its text segment). Kept, so
-- that the exports read it instead of removing the blocks again.
texts as (
    select
        source_config,
        conversation_id,
        conversation_seq,
        message_index,
        body as text_outside_blocks
    from {{ ref('int_assistant_segments') }}
    where segment_kind = 'text' {{ only_new_rows('conversation_seq') }}
),

thoughts as (
    select * from {{ ref('int_thoughts') }}
    {{ where_new_conversations() }}
),

calls as (
    select * from {{ ref('int_tool_calls') }}
    {{ where_new_conversations() }}
),

responses as (
    select * from {{ ref('int_tool_responses') }}
    {{ where_new_conversations() }}
),

-- Roles only: the window runs over every message of every conversation, and no text rides along.
sequenced as (
    select
        source_config,
        conversation_id,
        conversation_seq,
        message_index,
        role,
        lag(role) over conversation_order as previous_role,
        count_if(role = 'assistant') over (
            partition by source_config, conversation_id order by message_index
            rows between unbounded preceding and 1 preceding
        ) as n_earlier_assistant_turns
    from messages
    window conversation_order as (partition by source_config, conversation_id order by message_index)
),

assistant_messages as (
    select * from sequenced
    where role = 'assistant'
),

thought_stats as (
    select
        source_config,
        conversation_id,
        conversation_seq,
        message_index,
        count(*) as n_thoughts,
        count(*) filter (where is_empty) as n_empty_thoughts,
        sum(n_chars) as thought_chars,
        bool_or(not is_empty) as has_reasoning
    from thoughts
    group by all
),

call_stats as (
    select
        source_config,
        conversation_id,
        conversation_seq,
        message_index,
        count(*) as n_tool_calls,
        count(*) filter (where parse_issue is not null) as n_malformed_calls
    from calls
    group by all
),

tool_message_errors as (
    select
        source_config,
        conversation_id,
        conversation_seq,
        message_index,
        bool_or(error_type is not null) as has_error
    from responses
    group by all
),

turns as (
    select
        assistant_messages.source_config,
        assistant_messages.conversation_id,
        assistant_messages.conversation_seq,
        assistant_messages.message_index,
        assistant_messages.n_earlier_assistant_turns::integer as turn_index,
        assistant_messages.previous_role,
        case
            when assistant_messages.previous_role = 'tool' then 'tool_response'
            when assistant_messages.n_earlier_assistant_turns = 0 then 'conversation_start'
            when assistant_messages.previous_role = 'user' then 'user_message'
            else coalesce(assistant_messages.previous_role, 'none')
        end as context,
        coalesce(thought_stats.n_thoughts, 0) as n_thoughts,
        coalesce(thought_stats.n_empty_thoughts, 0) as n_empty_thoughts,
        coalesce(thought_stats.thought_chars, 0)::bigint as thought_chars,
        coalesce(thought_stats.has_reasoning, false) as has_reasoning,
        coalesce(call_stats.n_tool_calls, 0) as n_tool_calls,
        coalesce(call_stats.n_malformed_calls, 0) as n_malformed_calls,
        texts.text_outside_blocks,
        texts.text_outside_blocks <> '' as has_text,
        coalesce(
            assistant_messages.previous_role = 'tool' and tool_message_errors.has_error, false
        ) as follows_tool_error
    from assistant_messages
    inner join texts
        on
            {{ same_message('assistant_messages', 'texts') }}
    left join thought_stats
        on
            {{ same_message('assistant_messages', 'thought_stats') }}
    left join call_stats
        on
            {{ same_message('assistant_messages', 'call_stats') }}
    left join tool_message_errors
        on
            {{ same_conversation('assistant_messages', 'tool_message_errors') }}
            and assistant_messages.message_index - 1 = tool_message_errors.message_index
)

select
    {{ slash_key(['source_config', 'conversation_id', 'message_index']) }} as turn_key,
    source_config,
    conversation_id,
    conversation_seq,
    message_index,
    turn_index,
    previous_role,
    context,
    n_thoughts,
    n_empty_thoughts,
    thought_chars,
    n_tool_calls,
    n_malformed_calls,
    has_text,
    text_outside_blocks,
    case
        when has_reasoning and n_tool_calls > 0 then 'both'
        when has_reasoning then 'reasoning_only'
        when n_tool_calls > 0 then 'tool_only'
        else 'neither'
    end as turn_kind,
    follows_tool_error
from turns
-- Stored in ingest order, so a range of conversation_seq is a few row groups (see the export).
order by conversation_seq
