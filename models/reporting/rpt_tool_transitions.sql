{#- The most common tool-to-tool transitions: consecutive calls within a conversation. -#}
with

calls as (
    select * from {{ ref('fct_tool_calls') }}
),

sequenced as (
    select
        source_config,
        coalesce(tool_name, '(unnamed)') as to_tool,
        lag(coalesce(tool_name, '(unnamed)')) over (
            partition by source_config, conversation_id order by message_index, call_index
        ) as from_tool
    from calls
)

select
    source_config,
    from_tool,
    to_tool,
    count(*) as n_transitions
from sequenced
where from_tool is not null
group by all
