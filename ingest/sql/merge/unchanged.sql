-- Rows of the batch an earlier ingest already loaded with the same content.
select count(*)
from staged_good as s
inner join raw.conversations_written as r
    on r.source_config = s.source_config and r.conversation_id = s.conversation_id
where r.content_hash = s.content_hash and r.ingest_id <> $ingest_id
