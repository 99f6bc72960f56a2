-- Do longer conversations call more tools? Pearson correlation of messages and tool calls per conversation.
select
    source_config,
    n_conversations,
    correlation
from {{ ref('rpt_length_tool_correlation') }}
order by source_config
