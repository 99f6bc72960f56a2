-- A row this ingest wrote earlier and a later row of it supersedes. Rows of earlier ingests it
-- changes stay visible until it finishes (finish.sql).
delete from raw.messages_written
where conversation_seq in (
    select r.conversation_seq
    from raw.conversations_written as r
    inner join staged_good as s on r.source_config = s.source_config and r.conversation_id = s.conversation_id
    where r.ingest_id = $ingest_id
);

delete from raw.conversations_written as r
using staged_good as s
where r.source_config = s.source_config
  and r.conversation_id = s.conversation_id
  and r.ingest_id = $ingest_id
