-- What is in the warehouse, per model: conversations, calls, errors and the shares that matter.
select *
from {{ ref('rpt_overview') }}
order by source_config
