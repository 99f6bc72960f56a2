-- Rows of the batch to write: new keys, or content that changed.
create or replace temp table to_load as
select s.source_row
from staged_good as s
anti join raw.conversations_written as r
    on r.source_config = s.source_config
    and r.conversation_id = s.conversation_id
    and r.content_hash = s.content_hash
