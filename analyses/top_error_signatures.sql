-- How do tools fail? Each model's three most common error signatures for every tool with at least five errors.
select
    source_config,
    tool_name,
    signature_rank,
    signature,
    n_errors,
    round(share_of_tool_errors, 3) as share_of_tool_errors,
    n_conversations,
    round(recovered_share, 3) as recovered_share
from {{ ref('rpt_error_signatures') }}
where signature_rank <= 3 and tool_errors >= 5
order by source_config asc, tool_errors desc, tool_name asc, signature_rank asc
