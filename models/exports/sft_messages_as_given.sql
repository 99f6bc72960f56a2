{#- Every message with its text as given: the system prompt, stored once, is put back on its row. -#}
with

messages as (
    select * from {{ ref('stg_messages') }}
),

system_prompts as (
    select * from {{ ref('stg_system_prompts') }}
),

restored as (
    select
        messages.source_config,
        messages.conversation_id,
        messages.message_index,
        messages.role,
        messages.raw_role,
        coalesce(messages.content, system_prompts.system_prompt) as content,
        messages.system_prompt_hash,
        messages.tools_hash,
        messages.ingested_at,
        messages.conversation_seq
    from messages
    left join system_prompts
        on messages.system_prompt_hash = system_prompts.system_prompt_hash
)

select * from restored
