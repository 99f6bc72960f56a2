-- How often does the agent call several tools at once?
select
    source_config,
    parallel_width,
    n_turns,
    round(n_turns / sum(n_turns) over (partition by source_config), 4) as share_of_turns_with_calls
from {{ ref('rpt_parallel_width') }}
order by parallel_width, source_config
