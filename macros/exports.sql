{#- The columns of sft_conversation_filters, which every export model carries
    (written out: Spark has no `* exclude`). -#}
{% macro filter_columns(relation, except=[]) -%}
    {%- set columns = [
        'source_config', 'conversation_id', 'conversation_seq', 'category', 'tools_hash', 'n_tool_calls',
        'has_malformed_call', 'has_stuck_loop', 'is_unfinished', 'has_unpaired_call', 'max_parallel_width',
    ] -%}
    {%- for column in columns if column not in except -%}
        {{ relation }}.{{ column }}{{ ',\n    ' if not loop.last }}
    {%- endfor -%}
{%- endmacro %}
