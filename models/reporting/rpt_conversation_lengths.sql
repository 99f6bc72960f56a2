{#- Conversation length distribution per model. -#}
with

conversations as (
    select * from {{ ref('fct_conversations') }}
)

select
    source_config,
    n_messages,
    count(*) as n_conversations
from conversations
group by all
