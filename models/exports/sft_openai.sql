{#- OpenAI chat fine-tuning rows: one per conversation, per-assistant weights, parallel_tool_calls. -#}
with

conversations as (
    select * from {{ ref('sft_conversation_messages') }}
)

select
    {{ filter_columns('conversations') }},
    conversations.sample_id,
    conversations.has_messages,
    conversations.has_reasoning_only_turn,
    conversations.tools,
    sample_id as id,
    {{ json_array_of_elements([
        "case when has_structured_system_message then structured_system_message::string end", 'openai_elements',
    ]) }} as messages,
    {{ json_array_of_elements([
        "case when has_verbatim_system_message then verbatim_system_message::string end", 'openai_elements',
    ]) }} as messages_verbatim,
    max_parallel_width > 1 as parallel_tool_calls
from conversations
