-- The largest near-duplicate clusters: what they are about and which member is kept.
{%- if target.type == 'duckdb' %}
    select
        text_kind,
        cluster_id,
        cluster_size,
        n_configs,
        kept_conversation_key,
        about
    from {{ ref('rpt_largest_near_duplicate_clusters') }}
    order by text_kind asc, size_rank asc
{%- else %}
-- Near-duplicates are built on DuckDB only (a Python model): nothing to select here.
    select 1 as built_on_duckdb_only
{%- endif %}
