{#-
    Building JSON. On Spark, values are JSON text built by concatenation: to_json would drop
    null fields, and embedding JSON through VARIANT would sort its keys.
-#}

{#-
    A JSON array of JSON values in the given order, by concatenating their text:
    to_json(list(...)) parses every element again (conversation-sized arrays, 60% slower).
    With `where`, only the rows it holds for (null when there are none, as for an empty list).
-#}
{% macro json_array_agg(value, order_by, where=none) -%}
    {{ return(adapter.dispatch('json_array_agg')(value, order_by, where)) }}
{%- endmacro %}
{% macro default__json_array_agg(value, order_by, where) -%}
    ('[' || string_agg(coalesce({{ value }}::varchar, 'null'), ',' order by {{ order_by }}){{ ' filter (where ' ~ where ~ ')' if where }} || ']')::json
{%- endmacro %}
{% macro spark__json_array_agg(value, order_by, where) -%}
    {%- set element = "coalesce(" ~ value ~ ", 'null')" -%}
    {%- set element = "case when " ~ where ~ " then " ~ element ~ " end" if where else element -%}
    ('[' || string_agg({{ element }}, ',') within group (order by {{ order_by }}) || ']')
{%- endmacro %}

{#-
    A JSON object: `fields` is a list of (key, expression) or (key, expression, kind) where kind
    is 'text' (the default), 'json' (a JSON value, embedded as is) or 'number'.
-#}
{% macro json_object_of(fields) -%}
    {{ return(adapter.dispatch('json_object_of')(fields)) }}
{%- endmacro %}
{% macro default__json_object_of(fields) -%}
    {%- set arguments = [] -%}
    {%- for field in fields -%}
        {%- set _ = arguments.append("'" ~ field[0] ~ "', " ~ field[1]) -%}
    {%- endfor -%}
    json_object({{ arguments | join(', ') }})
{%- endmacro %}
{% macro spark__json_object_of(fields) -%}
    {%- set parts = [] -%}
    {%- for field in fields -%}
        {%- set kind = field[2] if field | length > 2 else 'text' -%}
        {%- if kind == 'json' -%}
            {%- set value = field[1] -%}
        {%- elif kind == 'number' -%}
            {%- set value = 'cast(' ~ field[1] ~ ' as string)' -%}
        {%- else -%}
            {%- set value = json_quote(field[1]) -%}
        {%- endif -%}
        {%- set key = ('' if loop.first else ',') ~ '"' ~ field[0] ~ '":' -%}
        {%- set _ = parts.append("'" ~ key ~ "', coalesce(" ~ value ~ ", 'null')") -%}
    {%- endfor -%}
    concat('{', {{ parts | join(', ') }}, '}')
{%- endmacro %}

{#- A JSON array of one JSON value. -#}
{% macro json_array_of_one(value) -%}
    {{ return(adapter.dispatch('json_array_of_one')(value)) }}
{%- endmacro %}
{% macro default__json_array_of_one(value) -%}
    json_array({{ value }})
{%- endmacro %}
{% macro spark__json_array_of_one(value) -%}
    ('[' || coalesce({{ value }}, 'null') || ']')
{%- endmacro %}

{#- A JSON array of a list of JSON values ([] for a null list). -#}
{% macro json_array_of_list(list) -%}
    {{ return(adapter.dispatch('json_array_of_list')(list)) }}
{%- endmacro %}
{% macro default__json_array_of_list(list) -%}
    to_json(coalesce({{ list }}, []::json[]))
{%- endmacro %}
{% macro spark__json_array_of_list(list) -%}
    ('[' || array_join(coalesce({{ list }}, array()), ',') || ']')
{%- endmacro %}

{#- The list of a window's values (collect_list skips nulls; the JSON messages are never null). -#}
{% macro window_list(value) -%}
    {{ return(adapter.dispatch('window_list')(value)) }}
{%- endmacro %}
{% macro default__window_list(value) -%}
    list({{ value }})
{%- endmacro %}
{% macro spark__window_list(value) -%}
    collect_list({{ value }})
{%- endmacro %}

{#-
    The elements of a JSON array as text, comma-joined in the given order, without the brackets
    (null when there are none), and an array made of such parts: a row's messages are aggregated
    once and the system message, chosen at export time, is put in front by concatenation.
-#}
{% macro json_elements_agg(value, order_by, where=none) -%}
    {{ return(adapter.dispatch('json_elements_agg')(value, order_by, where)) }}
{%- endmacro %}
{% macro default__json_elements_agg(value, order_by, where) -%}
    string_agg(coalesce({{ value }}::varchar, 'null'), ',' order by {{ order_by }}){{ ' filter (where ' ~ where ~ ')' if where }}
{%- endmacro %}
{% macro spark__json_elements_agg(value, order_by, where) -%}
    {%- set element = "coalesce(" ~ value ~ ", 'null')" -%}
    {%- set element = "case when " ~ where ~ " then " ~ element ~ " end" if where else element -%}
    nullif(string_agg({{ element }}, ',') within group (order by {{ order_by }}), '')
{%- endmacro %}

{#- A JSON array of comma-joined JSON elements, as text: the elements are JSON by construction, so
    it is not cast (DuckDB's cast to JSON parses the whole conversation again: 4-6% of an export). -#}
{% macro json_array_of_elements(parts) -%}
    '[' || concat_ws(',', {{ parts | join(', ') }}) || ']'
{%- endmacro %}

{#- The elements of a list of JSON values as comma-joined text (null for an empty or null list). -#}
{% macro json_elements_of_list(list) -%}
    {{ return(adapter.dispatch('json_elements_of_list')(list)) }}
{%- endmacro %}
{% macro default__json_elements_of_list(list) -%}
    nullif(array_to_string(coalesce({{ list }}, []::json[]), ','), '')
{%- endmacro %}
{% macro spark__json_elements_of_list(list) -%}
    nullif(array_join(coalesce({{ list }}, array()), ','), '')
{%- endmacro %}
