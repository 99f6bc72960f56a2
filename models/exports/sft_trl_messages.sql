{#- TRL's conversational format with tools: one row per conversation. -#}
with

conversations as (
    select * from {{ ref('sft_conversation_messages') }}
)

select
    * exclude (trl_messages, openai_messages, trl_trainable_text, openai_trainable_text),
    sample_id as id,
    trl_messages as messages,
    trl_trainable_text as trainable_text
from conversations
