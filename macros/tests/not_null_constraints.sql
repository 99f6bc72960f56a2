{#-
    The model's not_null contract constraints, as a data test where the engine cannot enforce
    them: Spark's parquet tables take no NOT NULL, and no engine's views do. On DuckDB the
    contract refuses a null in a table at build time, so there the test selects nothing.
-#}
{% test not_null_constraints(model) %}

    {%- set columns = [] -%}
    {%- if execute -%}
        {%- for node in graph.nodes.values()
            if node.resource_type == 'model' and node.alias == model.identifier
            and (target.type == 'spark' or node.config.materialized == 'view') -%}
            {%- for column in node.columns.values() -%}
                {%- if column.constraints | selectattr('type', 'equalto', 'not_null') | list -%}
                    {%- set _ = columns.append(column.name) -%}
                {%- endif -%}
            {%- endfor -%}
        {%- endfor -%}
    {%- endif %}

select *
from {{ model }}
where {{ (columns | join(' is null or ') ~ ' is null') if columns else 'false' }}

{% endtest %}
