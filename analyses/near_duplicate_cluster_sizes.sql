-- How many conversations are near-duplicates, per kind of text and cluster size?
select
    text_kind,
    size_bucket,
    n_clusters,
    n_conversations,
    n_left_out_by_dedup
from {{ ref('rpt_near_duplicate_cluster_sizes') }}
order by text_kind asc, bucket_order asc
