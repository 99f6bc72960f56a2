{#- OpenAI chat fine-tuning rows: one per conversation, per-assistant weights, parallel_tool_calls. -#}
with

conversations as (
    select * from {{ ref('sft_conversation_messages') }}
)

select
    * exclude (trl_messages, openai_messages, trl_trainable_text, openai_trainable_text),
    sample_id as id,
    openai_messages as messages,
    openai_trainable_text as trainable_text,
    max_parallel_width > 1 as parallel_tool_calls
from conversations
