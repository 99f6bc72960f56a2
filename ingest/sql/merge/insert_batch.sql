-- The only statements that write conversation text: from the batch being read (its rows to
-- load, parsed once into batch_payload), the turns as rows of raw.messages_written and the
-- repeated texts (tools, leading system prompt) replaced by their md5.
{% from "_expressions.sql" import tools_hash, system_prompt_hash -%}
create or replace temp table batch_payload as {{ payload }};

-- Per conversation what its turns repeat; computed in the unnesting select, the hashes would
-- be computed once per turn.
create or replace temp table batch_seqs as
select
    s.source_row,
    s.source_config,
    s.conversation_id,
    (select coalesce(max(conversation_seq), 0) from raw.conversations_written)
    + row_number() over (order by s.source_row) as conversation_seq,
    now() as ingested_at,
    {{ tools_hash('b.tools') }} as tools_hash,
    {{ system_prompt_hash('b.conversations') }} as system_prompt_hash
from staged_good as s
inner join batch_payload as b on s.source_row = b.source_row;

insert into raw.conversations_written by name
select
    s.conversation_id, s.source_config, s.category, s.subcategory, s.task,
    q.tools_hash,
    q.system_prompt_hash,
    len(b.conversations) as n_messages,
    s.source_uri, s.source_row, q.ingested_at, $ingest_id as ingest_id, s.content_hash, s.ingest_flags,
    q.conversation_seq
from staged_good as s
inner join batch_seqs as q on s.source_row = q.source_row
inner join batch_payload as b on s.source_row = b.source_row;

insert into raw.messages_written
select
    q.conversation_seq,
    q.source_config,
    q.conversation_id,
    m.message_index,
    m.turn."from",
    case when m.message_index > 0 or m.turn."from" <> 'system' then m.turn."value" end,
    q.tools_hash,
    case when m.message_index = 0 then q.system_prompt_hash end,
    q.ingested_at,
    $ingest_id
from (
    select
        source_row,
        unnest(conversations) as turn,
        (generate_subscripts(conversations, 1) - 1)::integer as message_index
    from batch_payload
) as m
inner join batch_seqs as q on m.source_row = q.source_row
