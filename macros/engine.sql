{#-
    What differs between DuckDB and Spark SQL, once. Models call these macros; dbt picks the
    `duckdb__` (default) or `spark__` version for the target. JSON values are JSON text on both
    engines (DuckDB's JSON type is text underneath); on Spark they are strings.

    Spark pitfalls these handle: its string literals eat backslashes (regexes are raw
    literals, r'...'); its VARIANT sorts object keys and rewrites numbers (JSON text is read
    with get_json_object, which keeps both); to_json drops null fields unless told not to.
-#}

{#-
    A mart's contract, enforced where the engine can: Spark's parquet tables take no NOT NULL
    constraints (the same columns carry not_null data tests there) and name types differently.
    Set in each mart's config() because a dbt_project.yml value renders as text, not a boolean.
-#}
{% macro mart_contract() -%}
    {{ return({'enforced': target.type != 'spark'}) }}
{%- endmacro %}

{#- A regular expression literal. `$` is never used for "end of text": Java's also matches before a
    final newline; `\z` means the same on both. -#}
{% macro regex(pattern) -%}
    {{ return(adapter.dispatch('regex')(pattern)) }}
{%- endmacro %}
{% macro default__regex(pattern) -%}
    '{{ pattern }}'
{%- endmacro %}
{% macro spark__regex(pattern) -%}
    r'{{ pattern }}'
{%- endmacro %}

{% macro regex_matches(text, pattern) -%}
    {{ return(adapter.dispatch('regex_matches')(text, pattern)) }}
{%- endmacro %}
{% macro default__regex_matches(text, pattern) -%}
    regexp_matches({{ text }}, {{ pattern }})
{%- endmacro %}
{% macro spark__regex_matches(text, pattern) -%}
    regexp_like({{ text }}, {{ pattern }})
{%- endmacro %}

{% macro regex_replace_all(text, pattern, replacement) -%}
    {{ return(adapter.dispatch('regex_replace_all')(text, pattern, replacement)) }}
{%- endmacro %}
{% macro default__regex_replace_all(text, pattern, replacement) -%}
    regexp_replace({{ text }}, {{ pattern }}, {{ replacement }}, 'g')
{%- endmacro %}
{% macro spark__regex_replace_all(text, pattern, replacement) -%}
    regexp_replace({{ text }}, {{ pattern }}, {{ replacement }})
{%- endmacro %}

{#- Split on a literal separator (no regex metacharacters in it: Spark's split takes a regex). -#}
{% macro split_on(text, separator) -%}
    {{ return(adapter.dispatch('split_on')(text, separator)) }}
{%- endmacro %}
{% macro default__split_on(text, separator) -%}
    string_split({{ text }}, '{{ separator }}')
{%- endmacro %}
{% macro spark__split_on(text, separator) -%}
    split({{ text }}, '{{ separator }}', -1)
{%- endmacro %}

{% macro split_on_whitespace(text) -%}
    {{ return(adapter.dispatch('split_on_whitespace')(text)) }}
{%- endmacro %}
{% macro default__split_on_whitespace(text) -%}
    string_split_regex({{ text }}, '\s+')
{%- endmacro %}
{% macro spark__split_on_whitespace(text) -%}
    split({{ text }}, r'\s+', -1)
{%- endmacro %}

{% macro starts_with(text, prefix) -%}
    {{ return(adapter.dispatch('starts_with')(text, prefix)) }}
{%- endmacro %}
{% macro default__starts_with(text, prefix) -%}
    starts_with({{ text }}, {{ prefix }})
{%- endmacro %}
{% macro spark__starts_with(text, prefix) -%}
    startswith({{ text }}, {{ prefix }})
{%- endmacro %}

{#- Lists -#}

{% macro list_size(list) -%}
    {{ return(adapter.dispatch('list_size')(list)) }}
{%- endmacro %}
{% macro default__list_size(list) -%}
    len({{ list }})
{%- endmacro %}
{% macro spark__list_size(list) -%}
    size({{ list }})
{%- endmacro %}

{#- The elements from the second on. -#}
{% macro list_tail(list) -%}
    {{ return(adapter.dispatch('list_tail')(list)) }}
{%- endmacro %}
{% macro default__list_tail(list) -%}
    {{ list }}[2:]
{%- endmacro %}
{% macro spark__list_tail(list) -%}
    slice({{ list }}, 2, greatest(size({{ list }}) - 1, 0))
{%- endmacro %}

{% macro list_first(list) -%}
    {{ return(adapter.dispatch('list_first')(list)) }}
{%- endmacro %}
{% macro default__list_first(list) -%}
    {{ list }}[1]
{%- endmacro %}
{% macro spark__list_first(list) -%}
    element_at({{ list }}, 1)
{%- endmacro %}

{#- A list's text elements joined by `separator` (an expression). -#}
{% macro list_join(list, separator) -%}
    {{ return(adapter.dispatch('list_join')(list, separator)) }}
{%- endmacro %}
{% macro default__list_join(list, separator) -%}
    array_to_string({{ list }}, {{ separator }})
{%- endmacro %}
{% macro spark__list_join(list, separator) -%}
    array_join({{ list }}, {{ separator }})
{%- endmacro %}

{#- One list of the elements of `lists` (expressions of lists of one type), in order. -#}
{% macro list_concat(lists) -%}
    {{ return(adapter.dispatch('list_concat')(lists)) }}
{%- endmacro %}
{% macro default__list_concat(lists) -%}
    {%- if lists | length == 1 -%}
        {{ lists[0] }}
    {%- else -%}
        list_concat({{ lists[0] }}, {{ default__list_concat(lists[1:]) }})
    {%- endif -%}
{%- endmacro %}
{% macro spark__list_concat(lists) -%}
    concat({{ lists | join(', ') }})
{%- endmacro %}

{#- A list of the given expressions. -#}
{% macro list_of(items) -%}
    {{ return(adapter.dispatch('list_of')(items)) }}
{%- endmacro %}
{% macro default__list_of(items) -%}
    [{{ items | join(', ') }}]
{%- endmacro %}
{% macro spark__list_of(items) -%}
    array({{ items | join(', ') }})
{%- endmacro %}

{#- A list with each element mapped: `body` is an expression of `name`. -#}
{% macro list_map(list, name, body) -%}
    {{ return(adapter.dispatch('list_map')(list, name, body)) }}
{%- endmacro %}
{% macro default__list_map(list, name, body) -%}
    list_transform({{ list }}, lambda {{ name }}: {{ body }})
{%- endmacro %}
{% macro spark__list_map(list, name, body) -%}
    transform({{ list }}, {{ name }} -> {{ body }})
{%- endmacro %}

{% macro list_keep(list, name, condition) -%}
    {{ return(adapter.dispatch('list_keep')(list, name, condition)) }}
{%- endmacro %}
{% macro default__list_keep(list, name, condition) -%}
    list_filter({{ list }}, lambda {{ name }}: {{ condition }})
{%- endmacro %}
{% macro spark__list_keep(list, name, condition) -%}
    filter({{ list }}, {{ name }} -> {{ condition }})
{%- endmacro %}

{% macro list_has(list, value) -%}
    {{ return(adapter.dispatch('list_has')(list, value)) }}
{%- endmacro %}
{% macro default__list_has(list, value) -%}
    list_contains({{ list }}, {{ value }})
{%- endmacro %}
{% macro spark__list_has(list, value) -%}
    array_contains({{ list }}, {{ value }})
{%- endmacro %}

{% macro lists_overlap(left, right) -%}
    {{ return(adapter.dispatch('lists_overlap')(left, right)) }}
{%- endmacro %}
{% macro default__lists_overlap(left, right) -%}
    len(list_intersect({{ left }}, {{ right }})) > 0
{%- endmacro %}
{% macro spark__lists_overlap(left, right) -%}
    arrays_overlap({{ left }}, {{ right }})
{%- endmacro %}

{% macro empty_text_list() -%}
    {{ return(adapter.dispatch('empty_text_list')()) }}
{%- endmacro %}
{% macro default__empty_text_list() -%}
    []::varchar[]
{%- endmacro %}
{% macro spark__empty_text_list() -%}
    cast(array() as array<string>)
{%- endmacro %}

{#- A struct with named fields: `fields` is a list of (name, expression) pairs. -#}
{% macro make_struct(fields) -%}
    {{ return(adapter.dispatch('make_struct')(fields)) }}
{%- endmacro %}
{% macro default__make_struct(fields) -%}
    { {%- for name, value in fields %}'{{ name }}': {{ value }}{{ ', ' if not loop.last }}{% endfor -%} }
{%- endmacro %}
{% macro spark__make_struct(fields) -%}
    named_struct({%- for name, value in fields %}'{{ name }}', {{ value }}{{ ', ' if not loop.last }}{% endfor -%})
{%- endmacro %}

{#- Select-list items: one row per element of `list`, as `item`, with its 0-based place as `index`. -#}
{% macro unnest_with_index(list, item, index) -%}
    {{ return(adapter.dispatch('unnest_with_index')(list, item, index)) }}
{%- endmacro %}
{% macro default__unnest_with_index(list, item, index) -%}
    unnest({{ list }}) as {{ item }},
    generate_subscripts({{ list }}, 1) - 1 as {{ index }}
{%- endmacro %}
{% macro spark__unnest_with_index(list, item, index) -%}
    posexplode({{ list }}) as ({{ index }}, {{ item }})
{%- endmacro %}

{#- A select-list item: one row per element of `list`. -#}
{% macro unnest_list(list) -%}
    {{ return(adapter.dispatch('unnest_list')(list)) }}
{%- endmacro %}
{% macro default__unnest_list(list) -%}
    unnest({{ list }})
{%- endmacro %}
{% macro spark__unnest_list(list) -%}
    explode({{ list }})
{%- endmacro %}

{#- Aggregates -#}

{% macro value_at_max(value, order) -%}
    {{ return(adapter.dispatch('value_at_max')(value, order)) }}
{%- endmacro %}
{% macro default__value_at_max(value, order) -%}
    arg_max({{ value }}, {{ order }})
{%- endmacro %}
{% macro spark__value_at_max(value, order) -%}
    max_by({{ value }}, {{ order }})
{%- endmacro %}

{% macro value_at_min(value, order) -%}
    {{ return(adapter.dispatch('value_at_min')(value, order)) }}
{%- endmacro %}
{% macro default__value_at_min(value, order) -%}
    arg_min({{ value }}, {{ order }})
{%- endmacro %}
{% macro spark__value_at_min(value, order) -%}
    min_by({{ value }}, {{ order }})
{%- endmacro %}

{% macro ordered_string_agg(value, separator, order_by, where=none) -%}
    {{ return(adapter.dispatch('ordered_string_agg')(value, separator, order_by, where)) }}
{%- endmacro %}
{% macro default__ordered_string_agg(value, separator, order_by, where) -%}
    string_agg({{ value }}, {{ separator }} order by {{ order_by }}){{ ' filter (where ' ~ where ~ ')' if where }}
{%- endmacro %}
{% macro spark__ordered_string_agg(value, separator, order_by, where) -%}
    string_agg({% if where %}case when {{ where }} then {{ value }} end{% else %}{{ value }}{% endif %}, {{ separator }})
        within group (order by {{ order_by }})
{%- endmacro %}

{% macro distinct_list(value) -%}
    {{ return(adapter.dispatch('distinct_list')(value)) }}
{%- endmacro %}
{% macro default__distinct_list(value) -%}
    list(distinct {{ value }})
{%- endmacro %}
{% macro spark__distinct_list(value) -%}
    collect_set({{ value }})
{%- endmacro %}

{#- JSON -#}

{#-
    One rule on both engines: valid JSON is one RFC 8259 value with nothing after it but
    whitespace. Duplicate keys are allowed (RFC 8259 permits them; the last wins); NaN,
    Infinity and trailing commas are not. DuckDB's parser accepts those three, Spark's
    accepts text after the value and (unless told otherwise, see profiles.yml) rejects
    duplicate keys: each side checks what its parser lets through. On DuckDB the cheap test
    comes first: most JSON holds none of the three extensions, even inside strings.
-#}
{% macro json_is_valid(text) -%}
    {{ return(adapter.dispatch('json_is_valid')(text)) }}
{%- endmacro %}
{% macro default__json_is_valid(text) -%}
    (
        json_valid({{ text }})
        and not (
            (contains({{ text }}, 'NaN') or contains({{ text }}, 'Infinity') or regexp_matches({{ text }}, ',\s*[}\]]'))
            and regexp_matches(regexp_replace({{ text }}, '"(?:[^"\\]|\\.)*"', '""', 'g'), {{ json_extension_pattern() }})
        )
    )
{%- endmacro %}
{% macro spark__json_is_valid(text) -%}
    (try_parse_json({{ text }}) is not null and coalesce(json_array_length('[' || {{ text }} || ']'), 0) = 1)
{%- endmacro %}

{#- NaN, Infinity or a trailing comma: JSON extensions DuckDB's parser accepts. -#}
{% macro json_extension_pattern() -%}
    'NaN|Infinity|,\s*[}\]]'
{%- endmacro %}

{#- DuckDB's json_type names: OBJECT, ARRAY, VARCHAR, BIGINT, UBIGINT, DOUBLE, BOOLEAN, NULL; null for no value. -#}
{% macro json_kind(json) -%}
    {{ return(adapter.dispatch('json_kind')(json)) }}
{%- endmacro %}
{% macro default__json_kind(json) -%}
    json_type({{ json }})
{%- endmacro %}
{% macro spark__json_kind(json) -%}
    case
        when {{ json }} is null then null
        when schema_of_variant(try_parse_json({{ json }})) like 'OBJECT%' then 'OBJECT'
        when schema_of_variant(try_parse_json({{ json }})) like 'ARRAY%' then 'ARRAY'
        when schema_of_variant(try_parse_json({{ json }})) = 'STRING' then 'VARCHAR'
        when schema_of_variant(try_parse_json({{ json }})) = 'BIGINT' then 'BIGINT'
        when schema_of_variant(try_parse_json({{ json }})) = 'BOOLEAN' then 'BOOLEAN'
        when schema_of_variant(try_parse_json({{ json }})) = 'VOID' then 'NULL'
        when try_parse_json({{ json }}) is not null then 'DOUBLE'
    end
{%- endmacro %}

{#- The text of a JSON string at `path`, or the JSON text of any other value there (->>). -#}
{% macro json_text_at(json, path) -%}
    {{ return(adapter.dispatch('json_text_at')(json, path)) }}
{%- endmacro %}
{% macro default__json_text_at(json, path) -%}
    ({{ json }} ->> '{{ path }}')
{%- endmacro %}
{% macro spark__json_text_at(json, path) -%}
    get_json_object({{ json }}, '{{ path }}')
{%- endmacro %}

{#- The JSON value at `path`, as JSON text (->): a string stays quoted. -#}
{% macro json_at(json, path) -%}
    {{ return(adapter.dispatch('json_at')(json, path)) }}
{%- endmacro %}
{% macro default__json_at(json, path) -%}
    ({{ json }} -> '{{ path }}')
{%- endmacro %}
{% macro spark__json_at(json, path) -%}
    case
        when schema_of_variant(try_variant_get(try_parse_json({{ json }}), '{{ path }}')) = 'STRING'
            then {{ spark__json_quote("get_json_object(" ~ json ~ ", '" ~ path ~ "')") }}
        when schema_of_variant(try_variant_get(try_parse_json({{ json }}), '{{ path }}')) = 'VOID' then 'null'
        else {{ spark__with_literal_surrogates("get_json_object(" ~ json ~ ", '" ~ path ~ "')") }}
    end
{%- endmacro %}

{#- Spark's get_json_object writes a nested value again with Jackson, which escapes each character
    outside the Basic Multilingual Plane as a surrogate pair (📂 becomes \uD83D\uDCC2); DuckDB writes
    the character, as the source did. Each pair is put back as its character (the pair decoded
    by from_json), so both engines write the same bytes; other escapes are left as they are. -#}
{% macro spark__with_literal_surrogates(json_text) -%}
    aggregate(
        array_distinct(regexp_extract_all({{ json_text }}, {{ spark__regex('(\\\\u[dD][89abAB][0-9a-fA-F]{2}\\\\u[dD][c-fC-F][0-9a-fA-F]{2})') }}, 1)),
        {{ json_text }},
        (json_so_far, pair) -> replace(json_so_far, pair, from_json(concat('{"v":"', pair, '"}'), 'v string').v)
    )
{%- endmacro %}

{#- Text as a JSON string value. -#}
{% macro json_quote(text) -%}
    {{ return(adapter.dispatch('json_quote')(text)) }}
{%- endmacro %}
{% macro default__json_quote(text) -%}
    to_json({{ text }})
{%- endmacro %}
{#- Spark has no JSON string function: a one-field struct's JSON is {"v":<the string>}. -#}
{% macro spark__json_quote(text) -%}
    case
        when {{ text }} is not null
            then substr(to_json(named_struct('v', {{ text }})), 6, length(to_json(named_struct('v', {{ text }}))) - 6)
    end
{%- endmacro %}

{#- Valid JSON text, compacted, as a JSON value. -#}
{% macro as_json(text) -%}
    {{ return(adapter.dispatch('as_json')(text)) }}
{%- endmacro %}
{% macro default__as_json(text) -%}
    json({{ text }})
{%- endmacro %}
{% macro spark__as_json(text) -%}
    case
        when {{ spark__json_kind(text) }} = 'VARCHAR' then {{ spark__json_quote("get_json_object(" ~ text ~ ", '$')") }}
        when {{ spark__json_kind(text) }} = 'NULL' then 'null'
        else {{ spark__with_literal_surrogates("get_json_object(" ~ text ~ ", '$')") }}
    end
{%- endmacro %}

{#- A struct of the object's fields `names`, each as JSON (null when absent): one parse on DuckDB. -#}
{% macro json_fields(json, names) -%}
    {{ return(adapter.dispatch('json_fields')(json, names)) }}
{%- endmacro %}
{% macro default__json_fields(json, names) -%}
    {%- set spec = [] -%}
    {%- for name in names -%}
        {%- set _ = spec.append('"' ~ name ~ '": "JSON"') -%}
    {%- endfor -%}
    json_transform({{ json }}, '{ {{- spec | join(", ") -}} }')
{%- endmacro %}
{% macro spark__json_fields(json, names) -%}
    {%- set fields = [] -%}
    {%- for name in names -%}
        {%- set _ = fields.append("'" ~ name ~ "', " ~ spark__json_at(json, '$.' ~ name)) -%}
    {%- endfor -%}
    named_struct({{ fields | join(', ') }})
{%- endmacro %}

{#- Text holding JSON, as a JSON value as written (not compacted). -#}
{% macro json_value_of_text(text) -%}
    {{ return(adapter.dispatch('json_value_of_text')(text)) }}
{%- endmacro %}
{% macro default__json_value_of_text(text) -%}
    ({{ text }})::json
{%- endmacro %}
{% macro spark__json_value_of_text(text) -%}
    ({{ text }})
{%- endmacro %}

{% macro json_literal(text) -%}
    {{ return(adapter.dispatch('json_literal')(text)) }}
{%- endmacro %}
{% macro default__json_literal(text) -%}
    '{{ text }}'::json
{%- endmacro %}
{% macro spark__json_literal(text) -%}
    '{{ text }}'
{%- endmacro %}

{% macro json_keys_of(json) -%}
    {{ return(adapter.dispatch('json_keys_of')(json)) }}
{%- endmacro %}
{% macro default__json_keys_of(json) -%}
    json_keys({{ json }})
{%- endmacro %}
{% macro spark__json_keys_of(json) -%}
    json_object_keys({{ json }})
{%- endmacro %}

{#- The elements of a JSON array, each as JSON text. -#}
{% macro json_elements(json) -%}
    {{ return(adapter.dispatch('json_elements')(json)) }}
{%- endmacro %}
{% macro default__json_elements(json) -%}
    json_extract({{ json }}, '$[*]')
{%- endmacro %}
{% macro spark__json_elements(json) -%}
    from_json({{ json }}, 'array<string>')
{%- endmacro %}

{#- A JSON array of strings as a list of text (null when it is not one). -#}
{% macro json_text_list(json) -%}
    {{ return(adapter.dispatch('json_text_list')(json)) }}
{%- endmacro %}
{% macro default__json_text_list(json) -%}
    from_json({{ json }}, '["VARCHAR"]')
{%- endmacro %}
{% macro spark__json_text_list(json) -%}
    from_json({{ json }}, 'array<string>')
{%- endmacro %}

{% macro json_array_length_of(json) -%}
    {{ return(adapter.dispatch('json_array_length_of')(json)) }}
{%- endmacro %}
{% macro default__json_array_length_of(json) -%}
    json_array_length({{ json }})
{%- endmacro %}
{% macro spark__json_array_length_of(json) -%}
    json_array_length({{ json }})
{%- endmacro %}
