-- One short transaction makes the ingest visible: the rows it changed replace their earlier
-- versions, and its rejections replace earlier ones of the same inputs.
create or replace temp table replaced as
select r.conversation_seq
from raw.conversations_written as r
where r.ingest_id <> $ingest_id
  and exists (
    -- Not `using`: DuckDB would then read every column of n, the conversations' text included.
    select 1 from raw.conversations_written as n
    where n.ingest_id = $ingest_id
      and r.source_config = n.source_config
      and r.conversation_id = n.conversation_id
  );

delete from raw.messages_written
where conversation_seq in (select conversation_seq from replaced);

delete from raw.conversations_written
where conversation_seq in (select conversation_seq from replaced);

delete from raw.rejected_rows_written
where source_uri in (select unnest($uris)) and ingest_id <> $ingest_id;

update raw.ingest_runs
set finished_at = now(), rows_read = $read, rows_loaded = $loaded,
    rows_rejected = $rejected, rows_unchanged = $unchanged
where ingest_id = $ingest_id;

insert into raw.ingest_inputs (ingest_id, source_uri, shape)
select $ingest_id, unnest($input_uris), unnest($shapes)
