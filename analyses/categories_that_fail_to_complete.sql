-- Which categories fail to complete? (rpt_completion_by_category also splits by subcategory.)
select
    category,
    sum(n_conversations)::bigint as n_conversations,
    round(sum(share_without_final_answer * n_conversations) / sum(n_conversations), 4) as share_without_final_answer,
    round(sum(share_hit_iteration_limit * n_conversations) / sum(n_conversations), 4) as share_hit_iteration_limit,
    round(sum(share_unrecovered_errors * n_conversations) / sum(n_conversations), 4) as share_unrecovered_errors,
    round(sum(share_stuck_loop * n_conversations) / sum(n_conversations), 4) as share_stuck_loop
from {{ ref('rpt_completion_by_category') }}
group by category
order by share_without_final_answer desc, category asc
