{#-
    The label file beside the warehouse (foundation/labels.py; `traces serve` and
    `traces labels import` write it): JSON lines, read as it is at build time. Its path follows
    the warehouse's, as foundation/paths.py's labels_path does; TRACES_LABELS overrides it.
-#}
{% macro label_file_path() -%}
    {{ return(env_var('TRACES_LABELS', env_var('TRACES_DB', 'warehouse.duckdb') ~ '.labels.jsonl')) }}
{%- endmacro %}

{% macro read_label_file() -%}
    {{ return(adapter.dispatch('read_label_file')(label_file_path())) }}
{%- endmacro %}

{#- A warehouse nobody has labelled yet has no label file: then no rows, not an error. -#}
{% macro default__read_label_file(path) -%}
    {%- set literal = "'" ~ path | replace("'", "''") ~ "'" -%}
    {%- set found = run_query("select count(*) from glob(" ~ literal ~ ")").columns[0].values()[0] if execute else 0 -%}
    {%- if found %}
    select kind, source_config, conversation_id, label, note, labelled_at
    from read_json(
        {{ literal }},
        format = 'newline_delimited',
        columns = {
            kind: 'varchar', source_config: 'varchar', conversation_id: 'varchar', label: 'varchar',
            note: 'varchar', labelled_at: 'varchar'
        }
    )
    {%- else %}
    select
        null::varchar as kind,
        null::varchar as source_config,
        null::varchar as conversation_id,
        null::varchar as label,
        null::varchar as note,
        null::varchar as labelled_at
    where false
    {%- endif %}
{%- endmacro %}

{#- Spark reads the lines as text (`traces build` creates an empty file first). -#}
{% macro spark__read_label_file(path) -%}
    select
        record.kind,
        record.source_config,
        record.conversation_id,
        record.label,
        record.note,
        record.labelled_at
    from (
        select from_json(
            value,
            'kind string, source_config string, conversation_id string, label string, note string, labelled_at string'
        ) as record
        from text.`{{ path }}`
    )
{%- endmacro %}
