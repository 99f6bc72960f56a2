-- The typed payload of the rows the loader chose to write (temp table to_load): parsed a
-- second time, which costs less than carrying the conversation text through staged.
{% from "_expressions.sql" import tools_text -%}
select
    source_row,
    {{ tools_text('j.tools') }} as tools,
    j.conversations as conversations
from (
    select
        source_row,
        json_transform(line, '{"conversations": [{"from": "VARCHAR", "value": "VARCHAR"}], "tools": "JSON"}') as j
    from text_batch
    where source_row in (select source_row from to_load)
)
