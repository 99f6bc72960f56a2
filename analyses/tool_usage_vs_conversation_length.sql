-- How does tool usage relate to conversation length? Calls per conversation by
-- length bin, next to the correlation coefficient of each model.
select
    bins.source_config,
    bins.messages_bin,
    bins.n_conversations,
    bins.avg_tool_calls,
    correlation.correlation as correlation_messages_vs_calls
from {{ ref('rpt_length_vs_tool_usage') }} as bins
inner join {{ ref('rpt_length_tool_correlation') }} as correlation
    on bins.source_config = correlation.source_config
order by bins.source_config, bins.length_bin
