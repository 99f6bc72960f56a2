{#-
    The data test that reads every message's text (the tag check) runs, on an incremental
    build, over the conversations no passing build has tested yet: over every conversation it
    was the costliest node of an incremental build. The watermark
    is the newest conversation_seq of the last build in which every node passed and that test
    ran; a re-ingested conversation gets a new, higher seq, so it is tested again. A full
    refresh tests everything.
-#}

{% macro tested_through_relation(identifier='tested_through') -%}
    {{- api.Relation.create(database=target.get('database'), schema=target.schema, identifier=identifier) -}}
{%- endmacro %}

{% macro create_tested_through() -%}
    {{ return(adapter.dispatch('create_tested_through')()) }}
{%- endmacro %}

{% macro default__create_tested_through() -%}
    create table if not exists {{ tested_through_relation() }} (
        conversation_seq bigint not null,
        recorded_at timestamp not null
    )
{%- endmacro %}

{#- Spark: a parquet table cannot enforce NOT NULL; the schema is created first, as dbt has not yet. -#}
{% macro spark__create_tested_through() -%}
    {%- do run_query('create database if not exists ' ~ target.schema) -%}
    create table if not exists {{ tested_through_relation() }} (
        conversation_seq bigint,
        recorded_at timestamp
    ) using parquet
{%- endmacro %}

{% macro untested_conversations() -%}
    {%- if flags.FULL_REFRESH -%}
        true
    {%- else -%}
        conversation_seq > (select coalesce(max(conversation_seq), 0) from {{ tested_through_relation() }})
    {%- endif -%}
{%- endmacro %}

{% macro record_tested_through(results) -%}
    {%- set state = namespace(all_passed=true, ran_checks=false) -%}
    {%- for result in results -%}
        {#- Exposures report no-op: nothing to run, nothing failed. -#}
        {%- if result.status not in ['success', 'pass', 'no-op'] -%}
            {%- set state.all_passed = false -%}
        {%- endif -%}
        {%- if result.node.name == 'assert_every_tag_accounted_for' -%}
            {%- set state.ran_checks = true -%}
        {%- endif -%}
    {%- endfor -%}
    {%- if state.all_passed and state.ran_checks -%}
        insert into {{ tested_through_relation() }}
        select
            coalesce(max(conversation_seq), 0),
            now()::timestamp
        from {{ tested_through_relation('fct_conversations') }}
    {%- else -%}
        select 1
    {%- endif -%}
{%- endmacro %}
