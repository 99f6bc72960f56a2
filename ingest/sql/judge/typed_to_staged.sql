-- A verdict per row of typed input (parquet, Arrow): relation, with the input's columns.
{% from "_expressions.sql" import turn_problem, value_flags, content_hash -%}
{%- macro col(name) -%}
{% if name in columns %}"{{ name }}"::varchar{% else %}null::varchar{% endif %}
{%- endmacro -%}
{#- shape_flags: what writing another shape's row in these turns could only flag, and its extra
    fields and missing tools, which vary by row there (ingest/shapes.py, readers.stage_shaped). -#}
{%- set extra = columns | reject("in", known_fields) | reject("equalto", "__row") | reject("equalto", "shape_flags") | sort -%}
insert into staged
with src as (
    select *, {{ turn_problem('conversations') }} as turn_problem
    from {{ relation }}
),
judged as (
    select
        *,
        case
            when id is null then 'missing field "id"'
            when conversations is null then 'missing field "conversations"'
            when len(conversations) = 0 then '"conversations" is empty'
            else turn_problem
        end as reason
    from src
)
select
    $seq_base + __row,
    $uri,
    $config,
    __row,
    case when reason is null then id::varchar end,
    case when reason is null then {{ col("category") }} end,
    case when reason is null then {{ col("subcategory") }} end,
    case when reason is null then {{ col("task") }} end,
    case when reason is null then list_concat(
        {% if "shape_flags" in columns %}coalesce(shape_flags, []){% elif "tools" in columns %}[]::varchar[]{% else %}['missing_tools']{% endif %},
        {% if extra %}['extra_fields:{{ extra | join(",") }}']{% else %}[]::varchar[]{% endif %},
        {{ value_flags(col("tools"), 'conversations', known_roles) }}
    ) end,
    case when reason is null then {{ content_hash(col("category"), col("subcategory"), col("task"), col("tools"), 'conversations') }} end,
    reason,
    case when reason is not null then to_json(judged)::varchar end
from judged
