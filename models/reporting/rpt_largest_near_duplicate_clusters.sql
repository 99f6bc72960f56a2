{#-
    The ten largest near-duplicate clusters of each kind (two members or more), with the member the cluster keeps and
    what the cluster is about: the kept conversation's task (the dataset's field), or its tools in order.
-#}
with

clusters as (
    select * from {{ ref('dim_near_duplicate_clusters') }}
),

-- The dataset's task field says what a task cluster is about; the first human turn, which the
-- clusters are made of, is read only from the messages (decompressing them all: 1.5 s at 2x).
conversations as (
    select
        conversation_seq,
        task
    from {{ ref('fct_conversations') }}
),

calls as (
    select
        conversation_seq,
        message_index,
        call_index,
        tool_name
    from {{ ref('fct_tool_calls') }}
),

memberships as (
    select
        'task' as text_kind,
        task_cluster_id as cluster_id,
        task_cluster_size as cluster_size,
        is_task_kept as is_kept,
        source_config,
        conversation_key,
        conversation_seq
    from clusters
    where task_cluster_id is not null
    union all
    select
        'trajectory' as text_kind,
        trajectory_cluster_id as cluster_id,
        trajectory_cluster_size as cluster_size,
        is_trajectory_kept as is_kept,
        source_config,
        conversation_key,
        conversation_seq
    from clusters
    where trajectory_cluster_id is not null
),

per_cluster as (
    select
        text_kind,
        cluster_id,
        any_value(cluster_size) as cluster_size,
        count(distinct source_config) as n_configs,
        any_value(conversation_key) filter (where is_kept) as kept_conversation_key,
        any_value(conversation_seq) filter (where is_kept) as kept_conversation_seq
    from memberships
    group by text_kind, cluster_id
),

ranked as (
    select
        *,
        row_number() over (partition by text_kind order by cluster_size desc, cluster_id asc) as size_rank
    from per_cluster
),

largest as (
    select * from ranked
    where size_rank <= 10 and cluster_size > 1
),

task_openings as (
    select
        largest.cluster_id,
        left(conversations.task, 120) as about
    from largest
    inner join conversations
        on largest.kept_conversation_seq = conversations.conversation_seq
    where largest.text_kind = 'task'
),

first_tools as (
    select
        largest.cluster_id,
        {{ ordered_string_agg(
            "coalesce(calls.tool_name, '?')", "' > '", 'calls.message_index, calls.call_index'
        ) }} as about
    from largest
    inner join calls
        on largest.kept_conversation_seq = calls.conversation_seq
    where largest.text_kind = 'trajectory'
    group by largest.cluster_id
)

select
    largest.text_kind,
    largest.size_rank,
    largest.cluster_id,
    largest.cluster_size,
    largest.n_configs,
    largest.kept_conversation_key,
    left(coalesce(task_openings.about, first_tools.about), 160) as about
from largest
left join task_openings
    on largest.cluster_id = task_openings.cluster_id
left join first_tools
    on largest.cluster_id = first_tools.cluster_id
