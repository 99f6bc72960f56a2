-- A verdict per line of a text batch (text_batch: source_row, line, decode_error).
{% from "_expressions.sql" import kind_words, turn_problem, json_turn_problem, value_flags, content_hash, tools_text -%}
{% set turns_as_json -%}
json_transform(line, '{"conversations": [{"from": "JSON", "value": "JSON"}]}').conversations
{%- endset -%}
insert into staged
with lines as (
    select source_row, line, decode_error, shape_flags
    from text_batch
    -- Lines arrive with their newline; a blank line is not a row. (A regex, not trim(): trim
    -- copies every 50 KB line and cost half the judging.)
    where decode_error is not null or regexp_matches(line, '\S')
),
checked as (
    select
        source_row,
        line,
        shape_flags,
        case
            when decode_error is not null then decode_error
            when not json_valid(line) then 'invalid JSON (truncated or not JSON)'
            -- Valid JSON opening with a brace is an object: no second parse to ask its type.
            when not regexp_matches(line, '^\s*[{]') then 'expected a JSON object, got ' || {{ kind_words('json_type(line)') }}
        end as early_reason
    from lines
),
parsed as (
    select
        source_row,
        line,
        shape_flags,
        early_reason,
        case when early_reason is null then json_transform(
            line,
            '{"id": "JSON", "conversations": [{"from": "VARCHAR", "value": "VARCHAR"}],
              "tools": "JSON", "category": "VARCHAR", "subcategory": "VARCHAR", "task": "VARCHAR"}'
        ) end as j,
        case when early_reason is null then json_keys(line) end as keys
    from checked
),
judged as (
    select
        *,
        coalesce(
            early_reason,
            case
                when j.id is null or json_type(j.id) = 'NULL' then 'missing field "id"'
                when json_type(j.id) not in ('VARCHAR', 'BIGINT', 'UBIGINT') then '"id" is ' || {{ kind_words('json_type(j.id)') }} || ', not a string'
                when j.conversations is null and json_type(line, '$.conversations') is null then 'missing field "conversations"'
                when j.conversations is null then '"conversations" is ' || {{ kind_words("json_type(line, '$.conversations')") }} || ', not a list of turns'
                when len(j.conversations) = 0 then '"conversations" is empty'
            end,
            {{ turn_problem('j.conversations') }},
            -- A non-string "from"/"value" reads as text above; only lines where one may occur
            -- (a key followed by something other than a quote) pay for a second, typed parse.
            case when regexp_matches(line, '"(from|value)"\s*:\s*[^"\s]') then
                {{ json_turn_problem(turns_as_json) }}
            end
        ) as reason
    from parsed
),

typed as (
    select
        *,
        case when reason is null then {{ tools_text('j.tools') }} end as tools_text
    from judged
)
select
    $seq_base + source_row,
    $uri,
    $config,
    source_row,
    case when reason is null then j.id ->> '$' end,
    case when reason is null then j.category end,
    case when reason is null then j.subcategory end,
    case when reason is null then j.task end,
    case when reason is null then list_concat(
        case when j.tools is null then ['missing_tools'] else [] end,
        case when j.tools is not null and json_type(j.tools) not in ('VARCHAR', 'NULL') then ['tools_not_a_string'] else [] end,
        case
            when len(list_filter(keys, lambda k: k not in {{ known_fields | sql_tuple }})) > 0
            then ['extra_fields:' || array_to_string(list_sort(list_filter(keys, lambda k: k not in {{ known_fields | sql_tuple }})), ',')]
            else []
        end,
        {{ value_flags('tools_text', 'j.conversations', known_roles) }},
        -- What writing another shape's row in these turns could only flag (ingest/shapes.py).
        coalesce(shape_flags, [])
    ) end,
    case when reason is null then {{ content_hash('j.category', 'j.subcategory', 'j.task', 'tools_text', 'j.conversations') }} end,
    reason,
    case when reason is not null then rtrim(line, chr(10) || chr(13)) end
from typed
