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
