-- Which categories and subcategories fail to complete?
select
    category,
    subcategory,
    n_conversations,
    share_hit_iteration_limit,
    share_without_final_answer,
    share_unrecovered_errors,
    share_stuck_loop
from {{ ref('rpt_completion_by_category') }}
order by share_without_final_answer desc, n_conversations desc, category asc, subcategory asc
