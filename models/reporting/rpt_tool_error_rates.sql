{#- Error rate per tool and model (tools with at least one call). -#}
with

tools as (
    select * from {{ ref('dim_tools') }}
)

select
    source_config,
    tool_name,
    n_calls,
    n_errors,
    round(error_rate, 4) as error_rate
from tools
where n_calls > 0
