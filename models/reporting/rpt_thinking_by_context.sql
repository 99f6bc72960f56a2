{#- Does the agent think more before calling a tool, or after receiving results? -#}
with

turns as (
    select * from {{ ref('fct_assistant_turns') }}
)

select
    source_config,
    context,
    follows_tool_error,
    count(*) as n_turns,
    round(avg(thought_chars), 1) as avg_thought_chars,
    median(thought_chars) as median_thought_chars,
    round(sum(n_empty_thoughts) / nullif(sum(n_thoughts), 0), 4) as share_empty_thoughts
from turns
group by all
