{#- Pearson correlation of messages and tool calls per conversation, per model. -#}
with

conversations as (
    select * from {{ ref('fct_conversations') }}
)

select
    source_config,
    count(*) as n_conversations,
    round(corr(n_messages, n_tool_calls), 4) as correlation
from conversations
group by all
