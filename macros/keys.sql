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

{#- A join of a call (`calls`: message_index, call_index) to the row that names it by
    call_message_index and call_index (`linked`: a link or a tool response). -#}
{% macro same_call(calls, linked) -%}
    {{ same_conversation(calls, linked) }}
    and {{ calls }}.message_index = {{ linked }}.call_message_index
    and {{ calls }}.call_index = {{ linked }}.call_index
{%- endmacro %}

{#- A join of a tool response (`responses`: message_index, response_index) to the link that names
    it by response_message_index and response_index. -#}
{% macro same_response(responses, links) -%}
    {{ same_conversation(responses, links) }}
    and {{ responses }}.message_index = {{ links }}.response_message_index
    and {{ responses }}.response_index = {{ links }}.response_index
{%- endmacro %}
