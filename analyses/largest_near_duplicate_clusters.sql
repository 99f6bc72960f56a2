-- The largest near-duplicate clusters: what they are about and which member is kept.
select
    text_kind,
    cluster_id,
    cluster_size,
    n_configs,
    kept_conversation_key,
    about
from {{ ref('rpt_largest_near_duplicate_clusters') }}
order by text_kind asc, size_rank asc
