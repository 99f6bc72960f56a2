-- Which tools fail most, and does that differ between models? Tools with at least five calls.
select
    source_config,
    tool_name,
    n_calls,
    n_errors,
    error_rate
from {{ ref('rpt_tool_error_rates') }}
where n_calls >= 5
order by error_rate desc, tool_name asc, source_config asc
