-- What does the agent call next? The most common tool-to-tool transitions.
select
    source_config,
    from_tool,
    to_tool,
    n_transitions
from {{ ref('rpt_tool_transitions') }}
order by n_transitions desc
limit 50
