-- What does the agent do right after a tool error: retry the same tool, switch tool, or answer?
select
    source_config,
    reaction,
    n_turns,
    round(n_turns / sum(n_turns) over (partition by source_config), 4) as share
from {{ ref('rpt_after_error') }}
order by source_config asc, n_turns desc
