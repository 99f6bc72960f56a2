{#- The per-conversation facts export filters select on. -#}
with

conversations as (
    select * from {{ ref('fct_conversations') }}
)

select
    source_config,
    conversation_id,
    conversation_seq,
    category,
    tools_hash,
    n_tool_calls,
    n_malformed_calls > 0 as has_malformed_call,
    has_stuck_loop,
    hit_iteration_limit or not has_final_answer as is_unfinished,
    n_orphan_responses > 0 or n_unanswered_calls > n_malformed_calls as has_unpaired_call,
    max_parallel_width
from conversations
