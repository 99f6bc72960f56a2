{#- Each distinct tools JSON text, stored once at ingest; rows point to it by hash. -#}
with

source as (
    select * from {{ source('raw', 'toolsets') }}
),

renamed as (
    select
        tools_hash,
        tools as tools_json
    from source
),

described as (
    select
        tools_hash,
        tools_json,
        coalesce({{ json_is_valid('tools_json') }}, false) as is_valid_json,
        case
            when tools_json is null then 'missing'
            when not {{ json_is_valid('tools_json') }} then 'invalid'
            when {{ json_kind('tools_json') }} <> 'ARRAY' then 'not_a_list'
            when {{ json_array_length_of('tools_json') }} = 0 then 'empty'
            when
                {{ json_text_at('tools_json', '$[0].type') }} = 'function'
                and {{ json_at('tools_json', '$[0].function') }} is not null
                then 'wrapped'
            else 'flat'
        end as tools_shape
    from renamed
)

select * from described
