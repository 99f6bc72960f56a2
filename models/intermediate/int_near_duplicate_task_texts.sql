{#-
    The task each conversation's near-duplicates are found by: its first human turn, one row per
    conversation (trace_warehouse/near_duplicates.py shingles and signs it). A view, read by
    int_near_duplicate_signatures for the conversations it has not signed. The two kinds of text
    are two views: DuckDB does not prune a union's branches by a filter on a constant column, and
    each kind's query then paid for both.
-#}
with

user_messages as (
    select
        source_config,
        conversation_id,
        conversation_seq,
        message_index,
        content
    from {{ ref('stg_messages') }}
    -- The raw value, not the derived role: the scan's filter then skips other turns' text.
    where raw_role in ('human', 'user')
),

task_parts as (
    select
        source_config,
        conversation_id,
        conversation_seq,
        arg_min(content, message_index) as text
    from user_messages
    group by all
)

select * from task_parts
