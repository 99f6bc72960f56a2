-- Which tools fail most, and does that differ between models?
select
    tool_name,
    source_config,
    n_calls,
    n_errors,
    error_rate
from {{ ref('rpt_tool_error_rates') }}
order by tool_name, source_config
