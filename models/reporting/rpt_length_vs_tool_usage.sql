{#- How does tool usage relate to conversation length? Calls per conversation by length bin. -#}
with

conversations as (
    select * from {{ ref('fct_conversations') }}
),

binned as (
    select
        source_config,
        n_tool_calls,
        case
            when n_messages <= 5 then 1
            when n_messages <= 10 then 2
            when n_messages <= 20 then 3
            when n_messages <= 40 then 4
            else 5
        end as length_bin
    from conversations
)

select
    source_config,
    length_bin,
    case length_bin
        when 1 then '1-5'
        when 2 then '6-10'
        when 3 then '11-20'
        when 4 then '21-40'
        else '41+'
    end as messages_bin,
    count(*) as n_conversations,
    round(avg(n_tool_calls), 2) as avg_tool_calls
from binned
group by all
