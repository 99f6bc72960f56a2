-- Superseded rows become rejections, with their text as stored.
{% from "_expressions.sql" import turns_as_given -%}
insert into raw.rejected_rows_written
select
    w.source_uri, w.source_row, w.source_config,
    'duplicate id: superseded by ' || w.by_uri || ' row ' || w.by_row,
    to_json({'id': w.conversation_id, 'conversations': g.turns, 'tools': t.tools,
              'category': w.category, 'subcategory': w.subcategory, 'task': w.task})::varchar,
    now(), $ingest_id
from superseded_written as w
left join ({{ turns_as_given("select conversation_seq from superseded_written") }}) as g
    on w.conversation_seq = g.conversation_seq
left join raw.toolsets as t on w.tools_hash = t.tools_hash
returning source_uri
