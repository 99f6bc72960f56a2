{#- Expressions the ingest's statements share, as macros (as dbt keeps them in macros/). -#}

{#- How a row's repeated texts are split off (tools: its tools text, turns: its turns) ... -#}
{% macro tools_hash(tools) -%}
md5(coalesce({{ tools }}, ''))
{%- endmacro %}

{% macro system_prompt(turns) -%}
case when {{ turns }}[1]."from" = 'system' then {{ turns }}[1]."value" end
{%- endmacro %}

{% macro system_prompt_hash(turns) -%}
md5({{ system_prompt(turns) }})
{%- endmacro %}

{% macro turns_without_system_prompt(turns) -%}
case
    when {{ turns }}[1]."from" = 'system'
        then list_concat([{'from': 'system', 'value': null::varchar}], {{ turns }}[2:])
    else {{ turns }}
end
{%- endmacro %}

{#- ... and put back: the turns as given of raw.conversations_written rows, from their messages
    with the system prompt's text, for the conversation_seqs in `seqs` (a subquery). -#}
{% macro turns_as_given(seqs) -%}
select
    m.conversation_seq,
    list(
        {'from': m."from", 'value': coalesce(m."value", case when m.message_index = 0 then p.system_prompt end)}
        order by m.message_index
    ) as turns
from raw.messages_written as m
inner join raw.conversations_written as r on m.conversation_seq = r.conversation_seq
left join raw.system_prompts as p on r.system_prompt_hash = p.system_prompt_hash
where m.conversation_seq in ({{ seqs }})
group by m.conversation_seq
{%- endmacro %}

{#- A JSON value's kind as a reason words it ("a number", "an array"), from its json_type. -#}
{% macro kind_words(json_type) -%}
case {{ json_type }} when 'OBJECT' then 'an object' when 'ARRAY' then 'an array' when 'VARCHAR' then 'a string' when 'BOOLEAN' then 'a boolean' when 'NULL' then 'null' else 'a number' end
{%- endmacro %}

{#- The first problem found in a list of typed turns, or null when every turn is usable. -#}
{% macro turn_problem(turns) -%}
list_filter(
    list_transform(
        {{ turns }},
        lambda t, i: case
            when t is null then 'turn ' || (i - 1) || ': not an object'
            when t."from" is null then 'turn ' || (i - 1) || ': missing "from"'
            when t."value" is null then 'turn ' || (i - 1) || ': missing "value"'
        end
    ),
    lambda p: p is not null
)[1]
{%- endmacro %}

{#- The same for turns read as JSON values, where "from" and "value" may be of any kind. -#}
{% macro json_turn_problem(turns) -%}
list_filter(
    list_transform(
        {{ turns }},
        lambda t, i: case
            when t."from" is null and t."value" is null then 'turn ' || (i - 1) || ': not an object with "from" and "value"'
            when t."from" is null then 'turn ' || (i - 1) || ': missing "from"'
            when t."value" is null or json_type(t."value") = 'NULL' then 'turn ' || (i - 1) || ': missing "value"'
            when json_type(t."from") <> 'VARCHAR' then 'turn ' || (i - 1) || ': "from" is ' || {{ kind_words('json_type(t."from")') }} || ', not a string'
            when json_type(t."value") <> 'VARCHAR' then 'turn ' || (i - 1) || ': "value" is ' || {{ kind_words('json_type(t."value")') }} || ', not a string'
        end
    ),
    lambda p: p is not null
)[1]
{%- endmacro %}

{#- Flags a loadable row carries, computed from its typed tools text and turns. -#}
{% macro value_flags(tools, turns, known_roles) -%}
list_concat(
    case when {{ tools }} is not null and not json_valid({{ tools }}) then ['invalid_tools_json'] else [] end,
    case
        when len(list_filter({{ turns }}, lambda t: t."from" not in {{ known_roles | sql_tuple }})) > 0
        then ['unknown_role:' || array_to_string(list_sort(list_distinct(list_transform(
            list_filter({{ turns }}, lambda t: t."from" not in {{ known_roles | sql_tuple }}), lambda t: t."from"))), ',')]
        else []
    end
)
{%- endmacro %}

{#- DuckDB's 64-bit hash of the typed values (the same for a row read from JSONL or parquet): an
    md5 of the rendered struct costs 10x more; after a DuckDB upgrade changes it, rows are
    rewritten once. -#}
{% macro content_hash(category, subcategory, task, tools, turns) -%}
printf('%016x', hash({{ category }}, {{ subcategory }}, {{ task }}, {{ tools }}, {{ turns }}))
{%- endmacro %}

{#- A JSON string's text; any other JSON value's serialisation. -#}
{% macro tools_text(tools) -%}
case when {{ tools }} is null then null when json_type({{ tools }}) = 'VARCHAR' then {{ tools }} ->> '$' else {{ tools }}::varchar end
{%- endmacro %}
