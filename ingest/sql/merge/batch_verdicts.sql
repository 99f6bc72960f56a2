-- The batch's verdicts: rejections written with their text, loadable rows remembered and listed
-- in to_load for the reader's payload query (which rows to spool).
insert into raw.rejected_rows_written
select source_uri, source_row, source_config, reject_reason, raw_text, now(), $ingest_id
from staged
where reject_reason is not null;

insert into run_rows
select seq, source_uri, source_config, source_row, conversation_id, category, subcategory, task, ingest_flags, content_hash
from staged
where reject_reason is null;

create or replace temp table to_load as
select source_row from staged where reject_reason is null
