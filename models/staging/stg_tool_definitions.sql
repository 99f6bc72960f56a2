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
        {{ unnest_with_index(json_elements('tools_json'), 'entry', 'entry_index') }}
    from toolsets
),

unwrapped as (
    select
        tools_hash,
        entry_index,
        case
            when {{ json_text_at('entry', '$.type') }} = 'function' and {{ json_at('entry', '$.function') }} is not null
                then {{ json_at('entry', '$.function') }}
            else entry
        end as definition
    from entries
),

described as (
    select
        tools_hash,
        entry_index,
        {{ json_text_at('definition', '$.name') }} as tool_name,
        {{ json_text_at('definition', '$.description') }} as description,
        {{ json_at('definition', '$.parameters') }} as parameters,
        coalesce(
            {{ json_text_list(json_at('definition', '$.parameters.required')) }},
            {{ empty_text_list() }}
        ) as required_arguments
    from unwrapped
),

-- A tool defined twice in one toolset: its first definition counts.
ranked as (
    select
        *,
        row_number() over (partition by tools_hash, tool_name order by entry_index) as definition_rank
    from described
    where tool_name is not null
)

select
    tools_hash,
    tool_name,
    description,
    parameters,
    required_arguments
from ranked
where definition_rank = 1
