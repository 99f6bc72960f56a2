{#-
    What counts as a tool error, from the probed fields of a response's content:
    success is false, or error is present and non-empty, or exit_code is a non-zero
    integer; failing those, a Python traceback in the text when there is no integer
    exit_code (an exit_code of 0 wins over anything the output text says).
    "error": null and _budget_warning are not errors.
-#}

{% macro error_type(success, error, exit_code, content_text) -%}
    case
        when {{ json_kind(success) }} = 'BOOLEAN' and not ({{ success }})::boolean then 'tool_failure'
        when {{ json_kind(error) }} = 'VARCHAR' and {{ strip(json_text_at(error, '$')) }} <> '' then 'tool_failure'
        when {{ json_kind(error) }} in ('OBJECT', 'ARRAY') and length(({{ error }})::string) > 2 then 'tool_failure'
        when {{ json_kind(error) }} = 'BOOLEAN' and ({{ error }})::boolean then 'tool_failure'
        when {{ json_kind(exit_code) }} in ('BIGINT', 'UBIGINT') and ({{ exit_code }})::bigint <> 0 then 'nonzero_exit'
        when
            coalesce({{ json_kind(exit_code) }}, 'NULL') not in ('BIGINT', 'UBIGINT')
            and {{ regex_matches(content_text, traceback_pattern()) }}
            then 'exception'
    end
{%- endmacro %}

{#-
    A tool error's signature: the line that says what went wrong, with what varies between
    occurrences replaced by placeholders, so that `bash: cd: /home/user: No such file or directory`
    and `bash: cd: /srv/x: No such file or directory` are one signature. The line is a Python
    traceback's last one (the exception), else the first non-empty one. Patterns are written for
    RE2 (DuckDB) and Java (Spark) alike: \x27 is a single quote, \z the end of the text.
-#}
{% macro error_line(text) -%}
    case
        when {{ regex_matches(text, traceback_pattern()) }}
            then regexp_extract({{ text }}, {{ regex('([^\n]*[^\s][^\n]*)\s*\z') }}, 1)
        else regexp_extract({{ text }}, {{ regex('^\s*([^\n]*)') }}, 1)
    end
{%- endmacro %}

{% macro error_signature(line) -%}
    {%- set steps = [
        ('(?i)\\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\\b', '<id>'),
        ('\\d{4}-\\d{2}-\\d{2}(?:[T ]\\d{2}:\\d{2}(?::\\d{2}(?:\\.\\d+)?)?(?:Z|[+-]\\d{2}:?\\d{2})?)?', '<time>'),
        ('\\b\\d{1,2}:\\d{2}:\\d{2}(?:\\.\\d+)?\\b', '<time>'),
        ('"[^"]*"', '<str>'),
        ('\\x27[^\\x27]*\\x27', '<str>'),
        ('(?:https?:/|[\\w.~-]+)?/[^\\s:"\\x27,;()<>\\[\\]]+', '<path>'),
        ('\\b0x[0-9a-fA-F]+\\b', '<hex>'),
        ('\\b[0-9a-f]{8,}\\b', '<hex>'),
        ('\\d+(?:\\.\\d+)?', '<n>'),
        ('\\s+', ' '),
    ] -%}
    {%- set ns = namespace(sql='left(' ~ line ~ ', 500)') -%}
    {%- for pattern, placeholder in steps -%}
        {%- set ns.sql = regex_replace_all(ns.sql, regex(pattern), "'" ~ placeholder ~ "'") -%}
    {%- endfor -%}
    nullif(left({{ strip(ns.sql) }}, 200), '')
{%- endmacro %}
