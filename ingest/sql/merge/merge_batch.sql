-- The batch's verdicts: rejections written, and of several rows with one key the last kept.
create or replace temp table staged_ranked as
select
    *,
    row_number() over (partition by source_config, conversation_id order by seq desc) as dup_rank,
    first_value(source_row) over (partition by source_config, conversation_id order by seq desc) as kept_row
from staged
where reject_reason is null;

insert into raw.rejected_rows_written
select source_uri, source_row, source_config, reject_reason, raw_text, now(), $ingest_id
from staged
where reject_reason is not null;

create or replace temp table staged_good as
select * exclude (dup_rank, kept_row)
from staged_ranked
where dup_rank = 1;
