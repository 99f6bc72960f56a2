{#- Composite-key relationships: every child key must exist in the parent. -#}
{% test has_parent(model, columns, to, parent_columns=none) %}

    {%- set parent_columns = parent_columns or columns -%}

with

children as (
    select distinct {{ columns | join(', ') }}
    from {{ model }}
),

parents as (
    select distinct
        {% for column in parent_columns -%}
            {{ column }} as {{ columns[loop.index0] }}{{ "," if not loop.last }}
        {% endfor %}
    from {{ to }}
)

select children.*
from children
anti join parents
    using ({{ columns | join(', ') }})

{% endtest %}
