-- This ingest's rejections: the rows judged unloadable, and those a later row of the same key supersedes.
select source_uri, source_row, source_config, reason, raw_text, current_timestamp() as rejected_at, :ingest_id as ingest_id
from staged
where reason is not null
union all
select
    source_uri,
    source_row,
    source_config,
    case
        when kept_input = input_index then 'duplicate id: superseded by row ' || kept_row || ' of the same input'
        else 'duplicate id: superseded by ' || kept_uri || ' row ' || kept_row
    end,
    to_json(
        named_struct(
            'id', conversation_id, 'conversations', turns, 'tools', tools,
            'category', category, 'subcategory', subcategory, 'task', task
        ),
        map('ignoreNullFields', 'false')
    ),
    current_timestamp(),
    :ingest_id
from ranked
where dup_rank > 1
