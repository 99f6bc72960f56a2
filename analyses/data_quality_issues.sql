-- What did the parser flag instead of dropping: malformed calls, orphans, loops, rejected rows?
select
    source_config,
    issue,
    n
from {{ ref('rpt_data_quality') }}
order by source_config asc, n desc, issue asc
