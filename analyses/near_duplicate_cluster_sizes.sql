-- How many conversations are near-duplicates, per kind of text and cluster size?
{%- if target.type == 'duckdb' %}
    select
        text_kind,
        size_bucket,
        n_clusters,
        n_conversations,
        n_left_out_by_dedup
    from {{ ref('rpt_near_duplicate_cluster_sizes') }}
    order by text_kind asc, bucket_order asc
{%- else %}
-- Near-duplicates are built on DuckDB only (a Python model): nothing to select here.
    select 1 as built_on_duckdb_only
{%- endif %}
