{#- One row per assistant turn: the conversation so far as text with role markers, and the turn verbatim. -#}
with

filters as (
    select * from {{ ref('sft_conversation_filters') }}
),

messages as (
    select * from {{ ref('sft_messages_as_given') }}
),

assistant_parts as (
    select * from {{ ref('sft_assistant_parts') }}
),

turns as (
    select
        assistant_parts.*,
        messages.content as source_text
    from assistant_parts
    inner join messages
        on
            assistant_parts.source_config = messages.source_config
            and assistant_parts.conversation_id = messages.conversation_id
            and assistant_parts.conversation_seq = messages.conversation_seq
            and assistant_parts.message_index = messages.message_index
),

rendered as (
    select
        source_config,
        conversation_id,
        conversation_seq,
        message_index,
        '<|' || role || '|>' || chr(10) || content || chr(10) as rendered_message
    from messages
),

prompts as (
    select
        turns.source_config,
        turns.conversation_id,
        turns.conversation_seq,
        turns.message_index,
        string_agg(rendered.rendered_message, '' order by rendered.message_index) as prompt_so_far
    from turns
    inner join rendered
        on
            turns.source_config = rendered.source_config
            and turns.conversation_id = rendered.conversation_id
            and turns.conversation_seq = rendered.conversation_seq
            and turns.message_index > rendered.message_index
    group by all
)

select
    filters.* exclude (has_malformed_call),
    turns.has_malformed_call,
    turns.source_config || '/' || turns.conversation_id || '/' || turns.message_index as sample_id,
    turns.source_config || '/' || turns.conversation_id || '/' || turns.message_index as id,
    turns.conversation_id,
    turns.turn_index,
    coalesce(prompts.prompt_so_far, '') || '<|assistant|>' || chr(10) as prompt,
    turns.source_text as response
from turns
left join prompts
    on
        turns.source_config = prompts.source_config
        and turns.conversation_id = prompts.conversation_id
        and turns.conversation_seq = prompts.conversation_seq
        and turns.message_index = prompts.message_index
inner join filters
    on
        turns.source_config = filters.source_config
        and turns.conversation_id = filters.conversation_id
        and turns.conversation_seq = filters.conversation_seq
