{#- TRL's conversational format with tools: one row per conversation. -#}
with

conversations as (
    select * from {{ ref('sft_conversation_messages') }}
)

select
    {{ filter_columns('conversations') }},
    conversations.sample_id,
    conversations.has_messages,
    conversations.tools,
    sample_id as id,
    trl_messages as messages,
    trl_trainable_text as trainable_text
from conversations
