-- Which tools does each category use most?
select
    category,
    tool_name,
    n_calls,
    round(n_calls / sum(n_calls) over (partition by category), 4) as share_of_category_calls
from {{ ref('rpt_tool_calls_by_category') }}
order by category asc, n_calls desc, tool_name asc
