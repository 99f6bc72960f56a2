{#-
    A view: message text stays in raw.conversations; parsing models read it from there.
    The leading system prompt is stored once (stg_system_prompts): its row carries the hash, not the text.
-#}
with

source as (
    select
        source_config,
        conversation_id,
        conversations,
        system_prompt_hash,
        ingested_at,
        conversation_seq
    from {{ source('raw', 'conversations') }}
),

unnested as (
    select
        source_config,
        conversation_id,
        unnest(conversations) as message,
        generate_subscripts(conversations, 1) - 1 as message_index,
        system_prompt_hash,
        ingested_at,
        conversation_seq
    from source
),

renamed as (
    select
        source_config,
        conversation_id,
        message_index::integer as message_index,
        {{ role_of('message."from"') }} as role,
        message."from" as raw_role,
        message."value" as content,
        -- The leading system prompt is stored once: its content is null here.
        case when message_index = 0 then system_prompt_hash end as system_prompt_hash,
        ingested_at,
        conversation_seq
    from unnested
)

select * from renamed
