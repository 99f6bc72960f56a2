{#-
    How big the near-duplicate clusters are, per kind of text: clusters and conversations per size
    bucket, and how many conversations `traces export --dedup near` (trajectory) or `--dedup task`
    (task, one per cluster) would leave out. Texts without words have no cluster: their own bucket.
-#}
with

clusters as (
    select * from {{ ref('dim_near_duplicate_clusters') }}
),

memberships as (
    select
        'task' as text_kind,
        task_cluster_id as cluster_id,
        task_cluster_size as cluster_size
    from clusters
    union all
    select
        'trajectory' as text_kind,
        trajectory_cluster_id as cluster_id,
        trajectory_cluster_size as cluster_size
    from clusters
),

bucketed as (
    select
        text_kind,
        cluster_id,
        case
            when cluster_size is null then 'no words'
            when cluster_size = 1 then '1'
            when cluster_size = 2 then '2'
            when cluster_size <= 5 then '3-5'
            when cluster_size <= 10 then '6-10'
            when cluster_size <= 100 then '11-100'
            else '101+'
        end as size_bucket,
        case
            when cluster_size is null then 0
            when cluster_size = 1 then 1
            when cluster_size = 2 then 2
            when cluster_size <= 5 then 3
            when cluster_size <= 10 then 4
            when cluster_size <= 100 then 5
            else 6
        end as bucket_order
    from memberships
),

sizes as (
    select
        text_kind,
        size_bucket,
        bucket_order,
        count(distinct cluster_id) as n_clusters,
        count(*) as n_conversations
    from bucketed
    group by text_kind, size_bucket, bucket_order
)

select
    text_kind,
    size_bucket,
    bucket_order,
    n_clusters,
    n_conversations,
    case when size_bucket = 'no words' then 0 else n_conversations - n_clusters end as n_left_out_by_dedup
from sizes
