{#-
    `dbt run-operation runtime_settings`: print the DuckDB settings a build runs with, as one
    JSON line, so a test can check that dbt, ingest and export share them. The row-group size
    is an ATTACH option DuckDB does not report, so it is measured: a throwaway table of 3 groups'
    worth of rows is written to the warehouse and its groups counted.
-#}

{% macro runtime_settings(probe_rows=3 * 2048) -%}
    {%- set probe = target.database ~ '.main.runtime_settings_probe' -%}
    {%- do run_query('create or replace table ' ~ probe ~ ' as select range as i from range(' ~ probe_rows ~ ')') -%}
    {%- set row = run_query(
        "select current_setting('threads') as threads,"
        ~ " current_setting('memory_limit') as memory_limit,"
        ~ " current_setting('temp_directory') as temp_directory,"
        ~ " (select count(distinct row_group_id) from pragma_storage_info('" ~ probe ~ "')) as probe_row_groups,"
        ~ " current_setting('zstd_min_string_length') as zstd_min_string_length"
    ).rows[0] -%}
    {%- do run_query('drop table ' ~ probe) -%}
    {{- print(tojson({
        'threads': row[0] | int,
        'memory_limit': row[1],
        'temp_directory': row[2],
        'probe_rows': probe_rows,
        'probe_row_groups': row[3] | int,
        'zstd_min_string_length': row[4] | int,
    })) -}}
{%- endmacro %}

{#-
    `dbt run-operation spark_session_settings --target spark`: print the Spark settings dbt's
    session runs with, as one JSON line, so a test can check that they are the ingest's.
-#}
{% macro spark_session_settings(keys) -%}
    {%- set settings = {} -%}
    {%- for key in keys -%}
        {%- set row = run_query('set ' ~ key).rows[0] -%}
        {%- set _ = settings.update({key: row[1]}) -%}
    {%- endfor -%}
    {{- print(tojson(settings)) -}}
{%- endmacro %}
