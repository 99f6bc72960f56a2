{#-
    Incremental models are keyed on the conversation. A conversation whose content changed is
    re-ingested with a new ingested_at and a new, higher conversation_seq: its old rows are
    deleted first (even if it now yields none), then every conversation newer than the table's
    newest is processed and inserted. The parsing models compare ingested_at; the marts, which
    do not carry it, compare conversation_seq.
-#}

{% macro delete_reingested(column='ingested_at') -%}
    {%- if is_incremental() -%}
        {#- Not `delete ... using`: DuckDB then reads every column of the view, the conversations' text included. -#}
        delete from {{ this }} as existing
        where exists (
            select 1
            from {{ ref('stg_conversations') }} as conversations
            where
                existing.source_config = conversations.source_config
                and existing.conversation_id = conversations.conversation_id
                and existing.{{ column }} <> conversations.{{ column }}
        )
    {%- else -%}
        select 1
    {%- endif -%}
{%- endmacro %}

{#-
    The table's newest value, read when the model is compiled and written in as a constant: DuckDB
    pushes a constant filter into the scan and skips the row groups (in ingest order) that hold
    only older rows. Compared with a subquery instead, every scan read and decompressed all the
    text before filtering: an incremental build's parsing cost three times a full build's per row.
-#}
{% macro newer_than_table(column) -%}
    {%- set newest = [none, none] -%}
    {%- if execute -%}
        {%- set newest = run_query(
            'select max(' ~ column ~ ')::varchar, typeof(max(' ~ column ~ ')) from ' ~ this
        ).rows[0] -%}
    {%- endif -%}
    {{ 'true' if newest[0] is none else column ~ " > cast('" ~ newest[0] ~ "' as " ~ newest[1] ~ ")" }}
{%- endmacro %}

{% macro only_new_rows(column='ingested_at') -%}
    {%- if is_incremental() -%}
        and {{ newer_than_table(column) }}
    {%- endif -%}
{%- endmacro %}

{% macro where_new_conversations() -%}
    {%- if is_incremental() -%}
        where {{ newer_than_table('conversation_seq') }}
    {%- endif -%}
{%- endmacro %}
