{#- Headline figures per model (source_config). -#}
with

conversations as (
    select * from {{ ref('fct_conversations') }}
),

turns as (
    select
        source_config,
        count(*) as n_assistant_turns,
        avg(thought_chars) as avg_thought_chars
    from {{ ref('fct_assistant_turns') }}
    group by all
)

select
    conversations.source_config,
    count(*) as n_conversations,
    count(distinct conversations.category) as n_categories,
    sum(conversations.n_messages) as n_messages,
    any_value(turns.n_assistant_turns) as n_assistant_turns,
    sum(conversations.n_tool_calls) as n_tool_calls,
    round(avg(conversations.n_tool_calls), 2) as avg_tool_calls_per_conversation,
    round(sum(conversations.n_tool_errors) / nullif(sum(conversations.n_tool_responses), 0), 4) as error_rate,
    round(avg(conversations.has_final_answer::integer), 4) as share_with_final_answer,
    round(avg(conversations.hit_iteration_limit::integer), 4) as share_hit_iteration_limit,
    round(avg((conversations.max_parallel_width > 1)::integer), 4) as share_with_parallel_calls,
    round(any_value(turns.avg_thought_chars), 1) as avg_thought_chars_per_turn
from conversations
left join turns
    on conversations.source_config = turns.source_config
group by conversations.source_config
