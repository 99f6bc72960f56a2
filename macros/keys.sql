{#-
    Two relations' rows belong to the same conversation. conversation_seq is implied by the other
    two, and is joined on all the same: an export batch's range of it then reaches every scan.
-#}
{% macro same_conversation(left, right) -%}
    {{ left }}.source_config = {{ right }}.source_config
    and {{ left }}.conversation_id = {{ right }}.conversation_id
    and {{ left }}.conversation_seq = {{ right }}.conversation_seq
{%- endmacro %}

{#- A join on the same message of the same conversation. -#}
{% macro same_message(left, right) -%}
    {{ same_conversation(left, right) }}
    and {{ left }}.message_index = {{ right }}.message_index
{%- endmacro %}

{#- A row's readable key: its key columns joined with '/' (kimi/<id>/3/0). -#}
{% macro slash_key(columns) -%}
    {{ columns | join(" || '/' || ") }}
{%- endmacro %}
