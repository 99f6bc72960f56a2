{#-
    The task each conversation's near-duplicates are found by: its first human turn, one row per
    conversation that has one (transform/near_duplicates.py shingles and signs it). Taken
    from fct_conversations, which reads every message's text anyway: read from the messages here,
    the first human turns alone cost a scan that decompresses them all. A view, read by
    int_near_duplicate_signatures for the conversations it has not signed.
-#}
with

conversations as (
    select
        source_config,
        conversation_id,
        conversation_seq,
        first_user_message
    from {{ ref('fct_conversations') }}
),

task_parts as (
    select
        source_config,
        conversation_id,
        conversation_seq,
        first_user_message as text
    from conversations
    where first_user_message is not null
)

select * from task_parts
