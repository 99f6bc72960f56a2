{#-
    A view: message text stays in raw.messages; parsing models read it from there.
    The leading system prompt is stored once (stg_system_prompts): its row carries the hash, not the text.
-#}
with

source as (
    select * from {{ source('raw', 'messages') }}
),

renamed as (
    select
        source_config,
        conversation_id,
        message_index,
        {{ role_of(adapter.quote('from')) }} as role,
        {{ adapter.quote('from') }} as raw_role,
        {{ adapter.quote('value') }} as content,
        -- On the leading system prompt's row only; its content is null (stored once).
        system_prompt_hash,
        -- The conversation's tools, so parsing models need not join the conversation for them.
        tools_hash,
        ingested_at,
        conversation_seq
    from source
)

select * from renamed
