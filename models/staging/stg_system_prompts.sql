{#- Each distinct system prompt, stored once at ingest; rows point to it by hash. -#}
with

source as (
    select * from {{ source('raw', 'system_prompts') }}
),

renamed as (
    select
        system_prompt_hash,
        system_prompt,
        length(system_prompt) as n_chars
    from source
)

select * from renamed
