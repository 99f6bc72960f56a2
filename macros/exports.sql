{#- The columns of sft_conversation_filters, which every export model carries
    (written out: Spark has no `* exclude`). -#}
{% macro filter_columns(relation, except=[]) -%}
    {%- set columns = [
        'source_config', 'conversation_id', 'conversation_seq', 'category', 'tools_hash', 'system_prompt_hash',
        'n_tool_calls', 'has_malformed_call', 'has_stuck_loop', 'is_unfinished', 'has_unpaired_call',
        'max_parallel_width', 'last_assistant_message_index', 'has_assistant_turn', 'n_trailing_turns',
        'system_prompt_form', 'has_unparsable_tools', 'system_prompt_mentions_tools', 'system_prompt_rewritten',
        'gives_tools', 'has_schema_violation',
    ] -%}
    {%- for column in columns if column not in except -%}
        {{ relation }}.{{ column }}{{ ',\n    ' if not loop.last }}
    {%- endfor -%}
{%- endmacro %}

{#- The system message's text in `mode` (structured: the prompt without its Hermes block, null when
    nothing else is left, or the whole prompt where it is not rewritten; verbatim: as given).
    `filters` has the rule's columns, `prompts` is int_system_prompts. -#}
{% macro system_text(filters, prompts, mode) -%}
    {%- if mode == 'structured' -%}
        case
            when {{ filters }}.system_prompt_rewritten then nullif({{ prompts }}.instructions, '')
            else {{ prompts }}.system_prompt
        end
    {%- else -%}
        {{ prompts }}.system_prompt
    {%- endif -%}
{%- endmacro %}

{#- The tool definitions a structured row gives its chat template (null where the rule gives none). -#}
{% macro given_tools(filters, tools) -%}
    case when {{ filters }}.gives_tools then {{ tools }}.tools end
{%- endmacro %}
