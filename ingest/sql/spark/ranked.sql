-- The loadable rows, ranked within their key: the last read (input, then row) is kept.
select
    *,
    row_number() over (partition by source_config, conversation_id order by input_index desc, source_row desc) as dup_rank,
    first_value(source_uri) over (partition by source_config, conversation_id order by input_index desc, source_row desc)
        as kept_uri,
    first_value(input_index) over (partition by source_config, conversation_id order by input_index desc, source_row desc)
        as kept_input,
    first_value(source_row) over (partition by source_config, conversation_id order by input_index desc, source_row desc)
        as kept_row
from staged
where reason is null
