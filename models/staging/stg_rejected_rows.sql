with

source as (
    select * from {{ source('raw', 'rejected_rows') }}
),

renamed as (
    select
        source_uri,
        source_row,
        source_config,
        reason,
        length(raw_text) as raw_text_chars,
        left(raw_text, 500) as raw_text_preview,
        rejected_at,
        ingest_id
    from source
)

select * from renamed
