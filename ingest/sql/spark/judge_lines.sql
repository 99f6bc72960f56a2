-- One verdict per non-blank line of a text input (view lines: source_row, line).
{% from "spark/_expressions.sql" import kind_words, turn_problem -%}
with parsed as (
    select source_row, line, try_parse_json(line) as v
    from lines
    where line rlike '\\S'
),
kinds as (
    select
        *,
        schema_of_variant(v) as kind,
        schema_of_variant(v:id) as id_kind,
        schema_of_variant(v:conversations) as conversations_kind,
        schema_of_variant(v:tools) as tools_kind,
        try_variant_get(v, '$.conversations', 'array<variant>') as turns_v
    from parsed
),
judged as (
    select
        *,
        case
            -- Spark's parser stops after the first value; DuckDB's rejects anything after it.
            when v is null or coalesce(json_array_length('[' || line || ']'), 0) <> 1 then 'invalid JSON (truncated or not JSON)'
            when kind not like 'OBJECT%' then 'expected a JSON object, got ' || {{ kind_words('kind') }}
            when coalesce(id_kind, 'VOID') = 'VOID' then 'missing field "id"'
            when id_kind not in ('STRING', 'BIGINT') then '"id" is ' || {{ kind_words('id_kind') }} || ', not a string'
            when conversations_kind is null then 'missing field "conversations"'
            when conversations_kind not like 'ARRAY%'
                then '"conversations" is ' || {{ kind_words('conversations_kind') }} || ', not a list of turns'
            when size(turns_v) = 0 then '"conversations" is empty'
            else {{ turn_problem('turns_v') }}
        end as reason
    from kinds
)
select
    source_row,
    reason,
    case when reason is not null then line end as raw_text,
    case when reason is null then get_json_object(line, '$.id') end as conversation_id,
    case when reason is null then get_json_object(line, '$.category') end as category,
    case when reason is null then get_json_object(line, '$.subcategory') end as subcategory,
    case when reason is null then get_json_object(line, '$.task') end as task,
    case when reason is null and coalesce(tools_kind, 'VOID') <> 'VOID' then get_json_object(line, '$.tools') end as tools,
    case when reason is null then from_json(get_json_object(line, '$.conversations'), '{{ turns_type }}') end as turns,
    case when reason is null then concat(
        case when coalesce(tools_kind, 'VOID') = 'VOID' then array('missing_tools') else array() end,
        case when coalesce(tools_kind, 'VOID') not in ('STRING', 'VOID') then array('tools_not_a_string') else array() end,
        case
            when size(filter(json_object_keys(line), k -> k not in {{ known_fields | sql_tuple }})) > 0
                then array('extra_fields:' || array_join(array_sort(filter(json_object_keys(line), k -> k not in {{ known_fields | sql_tuple }})), ','))
            else array()
        end
    ) end as key_flags
from judged
