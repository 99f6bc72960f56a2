{#-
    Incremental parsing models are keyed on the conversation. A conversation whose content
    changed is re-ingested with a new ingested_at: its old rows are deleted first (even if it
    now yields none), then every row newer than the table's newest is parsed and inserted.
-#}

{% macro delete_reingested() -%}
    {%- if is_incremental() -%}
        {#- Not `delete ... using`: DuckDB then reads every column of the view, the conversations' text included. -#}
        delete from {{ this }} as existing
        where exists (
            select 1
            from {{ ref('stg_conversations') }} as conversations
            where
                existing.source_config = conversations.source_config
                and existing.conversation_id = conversations.conversation_id
                and existing.ingested_at <> conversations.ingested_at
        )
    {%- else -%}
        select 1
    {%- endif -%}
{%- endmacro %}

{% macro only_new_rows(column='ingested_at') -%}
    {%- if is_incremental() -%}
        and {{ column }} > (select coalesce(max(ingested_at), '-infinity'::timestamp) from {{ this }})
    {%- endif -%}
{%- endmacro %}
