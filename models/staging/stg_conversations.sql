with

source as (
    select * from {{ source('raw', 'conversations') }}
),

renamed as (
    select
        source_config,
        conversation_id,
        category,
        subcategory,
        task,
        md5(coalesce(tools, '')) as tools_hash,
        case
            when conversations[1]."from" = 'system' then md5(conversations[1]."value")
        end as system_prompt_hash,
        len(conversations) as n_messages,
        content_hash,
        ingest_flags,
        source_uri,
        source_row,
        ingest_id,
        ingested_at
    from source
)

select * from renamed
