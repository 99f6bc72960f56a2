-- What an unfinished ingest wrote: discarded on --strict, on an error, or by the next ingest
-- after a kill (only one process writes at a time, so an unfinished run found there is dead).
create or replace temp table unfinished as
select ingest_id from raw.ingest_runs where finished_at is null;

delete from raw.conversations_written where ingest_id in (select ingest_id from unfinished);

delete from raw.messages_written where ingest_id in (select ingest_id from unfinished);

delete from raw.rejected_rows_written where ingest_id in (select ingest_id from unfinished);

delete from raw.ingest_runs where ingest_id in (select ingest_id from unfinished);

delete from raw.toolsets
where tools_hash not in (select tools_hash from raw.conversations_written);

delete from raw.system_prompts
where system_prompt_hash not in (
    select system_prompt_hash from raw.conversations_written where system_prompt_hash is not null
)
