{#- Tool frequency per category. -#}
with

calls as (
    select * from {{ ref('fct_tool_calls') }}
)

select
    category,
    coalesce(tool_name, '(unnamed)') as tool_name,
    count(*) as n_calls
from calls
group by all
