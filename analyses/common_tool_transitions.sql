-- What does the agent call next? The 40 most common tool-to-tool transitions, both models together.
select
    from_tool,
    to_tool,
    sum(n_transitions)::bigint as n_transitions
from {{ ref('rpt_tool_transitions') }}
group by all
order by n_transitions desc, from_tool asc, to_tool asc
limit 40
