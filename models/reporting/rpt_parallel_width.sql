{#- How many calls an assistant turn makes at once, per model (turns with at least one call). -#}
with

turns as (
    select * from {{ ref('fct_assistant_turns') }}
)

select
    source_config,
    n_tool_calls as parallel_width,
    count(*) as n_turns
from turns
where n_tool_calls > 0
group by all
