-- The typed payload of the rows the loader chose to write (temp table to_load).
select __row as source_row, {% if "tools" in columns %}"tools"::varchar{% else %}null::varchar{% endif %} as tools, conversations
from {{ relation }}
where __row in (select source_row from to_load)
