{#- Every message with its text as given: the system prompt, stored once, is put back on its row. -#}
with

messages as (
    select * from {{ ref('stg_messages') }}
),

system_prompts as (
    select * from {{ ref('stg_system_prompts') }}
),

restored as (
    select messages.* replace (coalesce(messages.content, system_prompts.system_prompt) as content)
    from messages
    left join system_prompts
        on messages.system_prompt_hash = system_prompts.system_prompt_hash
)

select * from restored
