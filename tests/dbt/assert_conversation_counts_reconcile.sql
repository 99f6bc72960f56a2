-- Per conversation, the counts in fct_conversations equal the rows of the detail marts.
with

conversations as (
    select * from {{ ref('fct_conversations') }}
),

calls as (
    select
        source_config,
        conversation_id,
        count(*) as n_tool_calls,
        count(*) filter (where parse_issue is null) as n_valid_tool_calls
    from {{ ref('fct_tool_calls') }}
    group by all
),

responses as (
    select
        source_config,
        conversation_id,
        count(*) as n_tool_responses,
        count(*) filter (where is_error) as n_tool_errors
    from {{ ref('fct_tool_responses') }}
    group by all
),

thoughts as (
    select
        source_config,
        conversation_id,
        count(*) as n_thoughts
    from {{ ref('fct_thoughts') }}
    group by all
),

turns as (
    select
        source_config,
        conversation_id,
        count(*) as n_assistant_turns,
        sum(n_tool_calls) as n_tool_calls_by_turn
    from {{ ref('fct_assistant_turns') }}
    group by all
)

select conversations.conversation_key
from conversations
left join calls using (source_config, conversation_id)
left join responses using (source_config, conversation_id)
left join thoughts using (source_config, conversation_id)
left join turns using (source_config, conversation_id)
where
    conversations.n_tool_calls <> coalesce(calls.n_tool_calls, 0)
    or conversations.n_valid_tool_calls <> coalesce(calls.n_valid_tool_calls, 0)
    or conversations.n_valid_tool_calls + conversations.n_malformed_calls <> conversations.n_tool_calls
    or conversations.n_tool_responses <> coalesce(responses.n_tool_responses, 0)
    or conversations.n_tool_errors <> coalesce(responses.n_tool_errors, 0)
    or conversations.n_thoughts <> coalesce(thoughts.n_thoughts, 0)
    or conversations.n_assistant_turns <> coalesce(turns.n_assistant_turns, 0)
    or conversations.n_tool_calls <> coalesce(turns.n_tool_calls_by_turn, 0)
