-- The batch's kept rows join the rows this ingest has loaded.
delete from run_rows as seen
using staged_good as s
where seen.source_config = s.source_config and seen.conversation_id = s.conversation_id;

insert into run_rows
select source_config, conversation_id, source_uri, source_row, content_hash
from staged_good
