create or replace view raw.conversations as
select * from raw.conversations_written
where ingest_id not in (select ingest_id from raw.ingest_runs where finished_at is null);

create or replace view raw.messages as
select * exclude (ingest_id) from raw.messages_written
where ingest_id not in (select ingest_id from raw.ingest_runs where finished_at is null);

create or replace view raw.rejected_rows as
select * from raw.rejected_rows_written
where ingest_id not in (select ingest_id from raw.ingest_runs where finished_at is null);
