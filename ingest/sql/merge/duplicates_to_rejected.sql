-- Rows of this batch superseded by a later row of the same input, with their text as read
-- (payload: the reader's query of the batch's typed rows).
insert into raw.rejected_rows_written
select
    d.source_uri, d.source_row, d.source_config,
    'duplicate id: superseded by row ' || d.kept_row || ' of the same input',
    to_json({'id': d.conversation_id, 'conversations': b.conversations, 'tools': b.tools,
              'category': d.category, 'subcategory': d.subcategory, 'task': d.task})::varchar,
    now(), $ingest_id
from staged_ranked as d
inner join ({{ payload }}) as b on d.source_row = b.source_row
where d.dup_rank > 1
