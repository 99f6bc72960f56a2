{#- A view: message text stays in raw.conversations; parsing models read it from there. -#}
with

source as (
    select
        source_config,
        conversation_id,
        conversations,
        ingested_at
    from {{ source('raw', 'conversations') }}
),

unnested as (
    select
        source_config,
        conversation_id,
        unnest(conversations) as message,
        generate_subscripts(conversations, 1) - 1 as message_index,
        ingested_at
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
        ingested_at
    from unnested
)

select * from renamed
