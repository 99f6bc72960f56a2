-- Warehouses written before turns became rows: each list becomes rows of raw.messages_written.
insert into raw.messages_written
select
    conversation_seq, source_config, conversation_id, message_index, turn."from", turn."value", tools_hash,
    case when message_index = 0 then system_prompt_hash end, ingested_at, ingest_id
from (
    select
        *, unnest(conversations) as turn, (generate_subscripts(conversations, 1) - 1)::integer as message_index
    from raw.conversations_written
)
order by conversation_seq, message_index;
alter table raw.conversations_written add column n_messages integer;
update raw.conversations_written set n_messages = len(conversations);
alter table raw.conversations_written rename to conversations_with_turns;
{% include "schema/conversations_written.sql" %};
insert into raw.conversations_written by name
select * exclude (conversations) from raw.conversations_with_turns order by conversation_seq;
drop table raw.conversations_with_turns
