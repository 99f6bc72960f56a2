-- The batch's loadable rows, parsed once by the reader's payload query, with what their turns
-- repeat (tools, leading system prompt: stored once each, rows carry their md5). The loader
-- spools them as parquet; write_kept.sql moves them into raw at the end.
{% from "_expressions.sql" import tools_hash, system_prompt, system_prompt_hash -%}
select
    s.seq,
    len(b.conversations)::integer as n_messages,
    {{ tools_hash('b.tools') }} as tools_hash,
    b.tools,
    {{ system_prompt_hash('b.conversations') }} as system_prompt_hash,
    {{ system_prompt('b.conversations') }} as system_prompt,
    b.conversations
from ({{ payload }}) as b
inner join staged as s on b.source_row = s.source_row
order by s.seq
