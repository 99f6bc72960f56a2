-- How does tool usage relate to conversation length? Mean calls per conversation by length bin.
select
    source_config,
    messages_bin,
    n_conversations,
    avg_tool_calls
from {{ ref('rpt_length_vs_tool_usage') }}
order by source_config, length_bin
