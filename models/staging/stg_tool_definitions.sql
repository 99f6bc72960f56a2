{#- Normalises both tools shapes: kimi wraps each tool in {"type": "function", "function": {...}}. -#}
with

toolsets as (
    select
        tools_hash,
        tools_json
    from {{ ref('stg_toolsets') }}
    where tools_shape in ('wrapped', 'flat')
),

entries as (
    select
        tools_hash,
        unnest(json_extract(tools_json, '$[*]')) as entry
    from toolsets
),

unwrapped as (
    select
        tools_hash,
        case
            when (entry ->> '$.type') = 'function' and (entry -> '$.function') is not null
                then entry -> '$.function'
            else entry
        end as definition
    from entries
),

described as (
    select
        tools_hash,
        definition ->> '$.name' as tool_name,
        definition ->> '$.description' as description,
        definition -> '$.parameters' as parameters,
        coalesce(
            from_json(definition -> '$.parameters.required', '["VARCHAR"]'),
            []::varchar[]
        ) as required_arguments
    from unwrapped
)

select distinct on (tools_hash, tool_name) *
from described
where tool_name is not null
