{#- Which categories and subcategories fail to complete? -#}
with

conversations as (
    select * from {{ ref('fct_conversations') }}
)

select
    category,
    subcategory,
    count(*) as n_conversations,
    round(avg(hit_iteration_limit::integer), 4) as share_hit_iteration_limit,
    round(avg((not has_final_answer)::integer), 4) as share_without_final_answer,
    round(avg((n_tool_errors > 0 and not recovered_after_error)::integer), 4) as share_unrecovered_errors,
    round(avg(has_stuck_loop::integer), 4) as share_stuck_loop
from conversations
group by all
