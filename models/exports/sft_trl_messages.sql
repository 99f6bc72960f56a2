{#- TRL's conversational format with tools: one row per conversation, in both system-prompt modes. -#}
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
    {{ json_array_of_elements([
        "case when has_structured_system_message then structured_system_message::string end", 'trl_elements',
    ]) }} as messages,
    {{ json_array_of_elements([
        "case when has_verbatim_system_message then verbatim_system_message::string end", 'trl_elements',
    ]) }} as messages_verbatim
from conversations
