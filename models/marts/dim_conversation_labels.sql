{{ config(contract=mart_contract()) }}

with

labels as (
    select * from {{ ref('stg_conversation_labels') }}
),

conversations as (
    select
        source_config,
        conversation_id,
        conversation_seq,
        category
    from {{ ref('fct_conversations') }}
),

joined as (
    select
        labels.source_config,
        labels.conversation_id,
        labels.label,
        labels.note,
        labels.labelled_at,
        conversations.conversation_seq,
        conversations.category,
        conversations.conversation_seq is not null as is_in_warehouse
    from labels
    left join conversations
        on
            labels.source_config = conversations.source_config
            and labels.conversation_id = conversations.conversation_id
)

select * from joined
