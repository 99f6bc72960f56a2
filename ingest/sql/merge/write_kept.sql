-- The ingest's rows move into raw at once, set-based, from the parquet spool: of several rows
-- with one key the last read is kept, the others rejected with their text; a kept row whose
-- content an earlier ingest stored already is not rewritten.
create or replace temp table ranked as
select
    *,
    row_number() over latest_first as dup_rank,
    first_value(source_uri) over latest_first as kept_uri,
    first_value(source_row) over latest_first as kept_row
from run_rows
window latest_first as (partition by source_config, conversation_id order by seq desc);

create or replace temp table duplicates as
select
    *,
    source_uri = kept_uri as same_input,
    case
        when source_uri = kept_uri then 'duplicate id: superseded by row ' || kept_row || ' of the same input'
        else 'duplicate id: superseded by ' || kept_uri || ' row ' || kept_row
    end as reason
from ranked
where dup_rank > 1;

insert into raw.rejected_rows_written
select
    d.source_uri, d.source_row, d.source_config, d.reason,
    to_json({'id': d.conversation_id, 'conversations': t.turns, 'tools': c.tools,
              'category': d.category, 'subcategory': d.subcategory, 'task': d.task})::varchar,
    now(), $ingest_id
from duplicates as d
inner join read_parquet($conversations_spool) as c on d.seq = c.seq
inner join (
    select seq, list({'from': "from", 'value': "value"} order by message_index) as turns
    from read_parquet($messages_spool)
    where seq in (select seq from duplicates)
    group by seq
) as t on d.seq = t.seq;

create or replace temp table kept as
select
    k.*,
    exists (
        select 1 from raw.conversations_written as r
        where r.source_config = k.source_config
          and r.conversation_id = k.conversation_id
          and r.content_hash = k.content_hash
    ) as unchanged
from ranked as k
where k.dup_rank = 1;

create or replace temp table to_write as
select
    k.seq, k.source_uri, k.source_config, k.source_row, k.conversation_id, k.category,
    k.subcategory, k.task, k.ingest_flags, k.content_hash,
    c.n_messages, c.tools_hash, c.system_prompt_hash,
    (select coalesce(max(conversation_seq), 0) from raw.conversations_written)
    + row_number() over (order by k.seq) as conversation_seq
from kept as k
inner join read_parquet($conversations_spool) as c on k.seq = c.seq
where not k.unchanged;

insert into raw.conversations_written by name
select
    conversation_id, source_config, category, subcategory, task, tools_hash, system_prompt_hash,
    n_messages, source_uri, source_row, now() as ingested_at, $ingest_id as ingest_id, content_hash,
    ingest_flags, conversation_seq
from to_write
order by conversation_seq;

-- The only statement that writes conversation text: the spooled turns, in spool order (which is
-- conversation_seq order), a leading system turn's text left to raw.system_prompts.
insert into raw.messages_written
select
    w.conversation_seq,
    w.source_config,
    w.conversation_id,
    m.message_index,
    m."from",
    case when m.message_index > 0 or m."from" <> 'system' then m."value" end,
    w.tools_hash,
    case when m.message_index = 0 then w.system_prompt_hash end,
    now(),
    $ingest_id
from read_parquet($messages_spool) as m
inner join to_write as w on m.seq = w.seq;

insert into raw.toolsets
select tools_hash, any_value(tools)
from read_parquet($conversations_spool)
where
    tools_hash in (select tools_hash from to_write)
    and tools_hash not in (select tools_hash from raw.toolsets)
group by tools_hash;

insert into raw.system_prompts
select system_prompt_hash, any_value(system_prompt)
from read_parquet($conversations_spool)
where
    system_prompt_hash in (select system_prompt_hash from to_write)
    and system_prompt_hash not in (select system_prompt_hash from raw.system_prompts)
group by system_prompt_hash
