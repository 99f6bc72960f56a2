{#-
    A JSON array of JSON values in the given order, by concatenating their text:
    to_json(list(...)) parses every element again (conversation-sized arrays, 60% slower).
-#}
{% macro json_array_agg(value, order_by) -%}
    ('[' || string_agg(coalesce({{ value }}::varchar, 'null'), ',' order by {{ order_by }}) || ']')::json
{%- endmacro %}
