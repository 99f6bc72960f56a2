{#-
    Reading a call's arguments against its tool's JSON Schema, on both engines: each argument as
    a (key, value) member, the schema of a property named by a column, and a value's JSON type
    in JSON Schema's words.
-#}

{#- A select-list item: one row per member of the JSON object `json`, as `alias` (a struct of key and value). -#}
{% macro unnest_json_members(json, alias) -%}
    {{ return(adapter.dispatch('unnest_json_members')(json, alias)) }}
{%- endmacro %}
{% macro default__unnest_json_members(json, alias) -%}
    unnest(list_transform(json_keys({{ json }}), lambda member_key: {'key': member_key, 'value': {{ json }} -> member_key})) as {{ alias }}
{%- endmacro %}
{% macro spark__unnest_json_members(json, alias) -%}
    explode(map_entries(from_json({{ json }}, 'map<string,variant>'))) as {{ alias }}
{%- endmacro %}

{#- The JSON text of a member's value (a JSON value on DuckDB, a VARIANT on Spark). -#}
{% macro member_value_json(member) -%}
    {{ return(adapter.dispatch('member_value_json')(member)) }}
{%- endmacro %}
{% macro default__member_value_json(member) -%}
    {{ member }}.value
{%- endmacro %}
{% macro spark__member_value_json(member) -%}
    to_json({{ member }}.value)
{%- endmacro %}

{#- The member of the JSON object `json` named by the text expression `key`, as JSON (null if none). -#}
{% macro json_member(json, key) -%}
    {{ return(adapter.dispatch('json_member')(json, key)) }}
{%- endmacro %}
{% macro default__json_member(json, key) -%}
    ({{ json }} -> {{ key }})
{%- endmacro %}
{% macro spark__json_member(json, key) -%}
    get_json_object({{ json }}, concat('$[\'', {{ key }}, '\']'))
{%- endmacro %}

{#- A JSON value's type as JSON Schema names it: string, integer, number, boolean, object, array, null. -#}
{% macro json_schema_type(json) -%}
    case {{ json_kind(json) }}
        when 'VARCHAR' then 'string'
        when 'BIGINT' then 'integer'
        when 'UBIGINT' then 'integer'
        when 'DOUBLE' then 'number'
        when 'BOOLEAN' then 'boolean'
        when 'OBJECT' then 'object'
        when 'ARRAY' then 'array'
        when 'NULL' then 'null'
    end
{%- endmacro %}

{#- A list's first element (lists count from 1 on DuckDB, arrays from 0 on Spark). -#}
{% macro first_of(list) -%}
    {{ return(adapter.dispatch('first_of')(list)) }}
{%- endmacro %}
{% macro default__first_of(list) -%}
    ({{ list }})[1]
{%- endmacro %}
{% macro spark__first_of(list) -%}
    element_at({{ list }}, 1)
{%- endmacro %}
