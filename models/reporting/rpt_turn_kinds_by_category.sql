{#- Assistant turns by kind (reasoning only, tool only, both, neither) per category. -#}
with

turns as (
    select * from {{ ref('fct_assistant_turns') }}
),

conversations as (
    select
        source_config,
        conversation_id,
        category
    from {{ ref('fct_conversations') }}
)

select
    conversations.category,
    turns.turn_kind,
    count(*) as n_turns
from turns
inner join conversations
    on
        turns.source_config = conversations.source_config
        and turns.conversation_id = conversations.conversation_id
group by all
