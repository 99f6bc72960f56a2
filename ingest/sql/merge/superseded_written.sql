-- ... with their text as stored: by this ingest, or unchanged from an earlier one.
create or replace temp table superseded_written as
select seen.*, r.conversation_seq, r.category, r.subcategory, r.task, r.tools_hash
from superseded as seen
inner join raw.conversations_written as r
    on
        seen.source_config = r.source_config
        and seen.conversation_id = r.conversation_id
        and seen.content_hash = r.content_hash
