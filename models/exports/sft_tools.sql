{#- Each toolset in the JSON-schema function form trainers expect, whichever shape the source used. -#}
with

definitions as (
    select * from {{ ref('stg_tool_definitions') }}
),

toolsets as (
    select tools_hash from {{ ref('stg_toolsets') }}
),

functions as (
    select
        tools_hash,
        {{ json_array_agg(
            json_object_of([
                ('type', "'function'"),
                ('function', json_object_of([
                    ('name', 'tool_name'),
                    ('description', 'description'),
                    ('parameters', "coalesce(parameters, " ~ json_literal('{"type": "object", "properties": {}}') ~ ")", 'json'),
                ]), 'json'),
            ]),
            'tool_name'
        ) }} as tools
    from definitions
    group by tools_hash
)

select
    toolsets.tools_hash,
    coalesce(functions.tools, {{ json_literal('[]') }}) as tools
from toolsets
left join functions
    on toolsets.tools_hash = functions.tools_hash
