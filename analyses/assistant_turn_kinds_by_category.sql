-- How do assistant turns split between reasoning only, tool calls only, both or neither, per category?
select
    category,
    turn_kind,
    n_turns
from {{ ref('rpt_turn_kinds_by_category') }}
order by category, turn_kind
