{#- Spark SQL expressions the Spark ingest shares: the DuckDB ingest's rules (../_expressions.sql)
    in Spark's functions. -#}

{#- A JSON value's kind, from schema_of_variant, as the DuckDB ingest words it in a reason. -#}
{% macro kind_words(kind) -%}
case
    when {{ kind }} like 'OBJECT%' then 'an object'
    when {{ kind }} like 'ARRAY%' then 'an array'
    when {{ kind }} = 'STRING' then 'a string'
    when {{ kind }} in ('BIGINT', 'DOUBLE', 'FLOAT') or {{ kind }} like 'DECIMAL%' then 'a number'
    when {{ kind }} = 'BOOLEAN' then 'a boolean'
    else 'null'
end
{%- endmacro %}

{#- The first problem found in a list of turns read as variants, or null when every turn is usable. -#}
{% macro turn_problem(turns) -%}
try_element_at(filter(
    transform({{ turns }}, (t, i) -> case
        when t is null or schema_of_variant(t) not like 'OBJECT%' then 'turn ' || i || ': not an object'
        when coalesce(schema_of_variant(t:from), 'VOID') = 'VOID' then 'turn ' || i || ': missing "from"'
        when coalesce(schema_of_variant(t:value), 'VOID') = 'VOID' then 'turn ' || i || ': missing "value"'
        when schema_of_variant(t:from) <> 'STRING'
            then 'turn ' || i || ': "from" is ' || {{ kind_words('schema_of_variant(t:from)') }} || ', not a string'
        when schema_of_variant(t:value) <> 'STRING'
            then 'turn ' || i || ': "value" is ' || {{ kind_words('schema_of_variant(t:value)') }} || ', not a string'
    end),
    p -> p is not null
), 1)
{%- endmacro %}
