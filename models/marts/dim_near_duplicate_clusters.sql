{{ config(contract=mart_contract()) }}

{#-
    Every conversation's near-duplicate clusters: one for its task (first human turn), one for its
    trajectory (calls and turns, without tool outputs). Two texts whose estimated Jaccard
    similarity reaches `near_dup_threshold` are in one cluster, and so, by single linkage, are
    their near-duplicates (int_near_duplicate_clusters). Each cluster keeps one member: the first
    by no tool error, then a final answer, then fewest messages, then conversation_key
    (keep_rank 1). A text with no words has no signature and no cluster, and is kept.
-#}
with

conversations as (
    select
        conversation_key,
        source_config,
        conversation_id,
        conversation_seq,
        n_tool_errors,
        has_final_answer,
        n_messages
    from {{ ref('fct_conversations') }}
),

signatures as (
    select
        conversation_seq,
        text_kind,
        n_shingles,
        best_similarity
    from {{ ref('int_near_duplicate_signatures') }}
),

clusters as (
    select
        conversation_seq,
        text_kind,
        cluster_id,
        cluster_size
    from {{ ref('int_near_duplicate_clusters') }}
),

members as (
    select
        clusters.text_kind,
        clusters.conversation_seq,
        clusters.cluster_id,
        clusters.cluster_size,
        row_number() over (
            partition by clusters.cluster_id
            order by
                conversations.n_tool_errors > 0 asc,
                conversations.has_final_answer desc,
                conversations.n_messages asc,
                conversations.conversation_key asc
        ) as keep_rank
    from clusters
    inner join conversations
        on clusters.conversation_seq = conversations.conversation_seq
),

task_members as (
    select * from members
    where text_kind = 'task'
),

trajectory_members as (
    select * from members
    where text_kind = 'trajectory'
),

task_signatures as (
    select
        conversation_seq,
        n_shingles,
        best_similarity
    from signatures
    where text_kind = 'task'
),

trajectory_signatures as (
    select
        conversation_seq,
        n_shingles,
        best_similarity
    from signatures
    where text_kind = 'trajectory'
),

clustered as (
    select
        conversations.conversation_key,
        conversations.source_config,
        conversations.conversation_id,
        conversations.conversation_seq,
        coalesce(task_signatures.n_shingles, 0)::bigint as task_shingles,
        task_members.cluster_id as task_cluster_id,
        task_members.cluster_size::bigint as task_cluster_size,
        task_signatures.best_similarity as task_best_similarity,
        coalesce(task_members.keep_rank, 1)::bigint as task_keep_rank,
        coalesce(trajectory_signatures.n_shingles, 0)::bigint as trajectory_shingles,
        trajectory_members.cluster_id as trajectory_cluster_id,
        trajectory_members.cluster_size::bigint as trajectory_cluster_size,
        trajectory_signatures.best_similarity as trajectory_best_similarity,
        coalesce(trajectory_members.keep_rank, 1)::bigint as trajectory_keep_rank
    from conversations
    left join task_signatures
        on conversations.conversation_seq = task_signatures.conversation_seq
    left join task_members
        on conversations.conversation_seq = task_members.conversation_seq
    left join trajectory_signatures
        on conversations.conversation_seq = trajectory_signatures.conversation_seq
    left join trajectory_members
        on conversations.conversation_seq = trajectory_members.conversation_seq
)

select
    *,
    task_keep_rank = 1 as is_task_kept,
    trajectory_keep_rank = 1 as is_trajectory_kept
from clustered
