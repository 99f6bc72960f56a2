with

source as (
    select * from {{ source('raw', 'conversations') }}
),

renamed as (
    select
        source_config,
        conversation_id,
        conversation_seq,
        category,
        subcategory,
        task,
        tools_hash,
        system_prompt_hash,
        n_messages::bigint as n_messages,
        content_hash,
        ingest_flags,
        source_uri,
        source_row,
        ingest_id,
        ingested_at
    from source
)

select * from renamed
