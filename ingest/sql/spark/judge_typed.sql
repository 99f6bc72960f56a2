-- One verdict per row of a typed input (view typed_input, with the input's columns).
{%- macro col(name) -%}
{% if name in columns %}cast(`{{ name }}` as string){% else %}cast(null as string){% endif %}
{%- endmacro -%}
{%- set extra = columns | reject("in", known_fields) | reject("equalto", "source_row") | sort -%}
{%- set key_flags = ([] if "tools" in columns else ["'missing_tools'"])
    + (["'extra_fields:" ~ (extra | join(",")) ~ "'"] if extra else []) %}
select
    source_row,
    reason,
    case when reason is not null then to_json(struct(*), map('ignoreNullFields', 'false')) end as raw_text,
    case when reason is null then cast(id as string) end as conversation_id,
    case when reason is null then {{ col("category") }} end as category,
    case when reason is null then {{ col("subcategory") }} end as subcategory,
    case when reason is null then {{ col("task") }} end as task,
    case when reason is null then {{ col("tools") }} end as tools,
    case when reason is null then conversations end as turns,
    case when reason is null then cast(array({{ key_flags | join(", ") }}) as array<string>) end as key_flags
from (
    select
        *,
        case
            when id is null then 'missing field "id"'
            when conversations is null then 'missing field "conversations"'
            when size(conversations) = 0 then '"conversations" is empty'
            else try_element_at(filter(
                transform(conversations, (t, i) -> case
                    when t is null then 'turn ' || i || ': not an object'
                    when t.`from` is null then 'turn ' || i || ': missing "from"'
                    when t.`value` is null then 'turn ' || i || ': missing "value"'
                end),
                p -> p is not null
            ), 1)
        end as reason
    from typed_input
)
