{#- Assistant turns by kind (reasoning only, tool only, both, neither) per category. -#}
with

turns as (
    select * from {{ ref('fct_assistant_turns') }}
),

conversations as (
    select
        source_config,
        conversation_id,
        conversation_seq,
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
        {{ same_conversation('turns', 'conversations') }}
group by all
