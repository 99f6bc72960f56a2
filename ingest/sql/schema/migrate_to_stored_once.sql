-- Warehouses written before the repeated texts were stored once kept them on every row.
{% from "_expressions.sql" import tools_hash, system_prompt, system_prompt_hash, turns_without_system_prompt -%}
alter table raw.conversations_written rename to conversations_before_stored_once;
{% include "schema/conversations_with_turns.sql" %};
insert or ignore into raw.toolsets
select {{ tools_hash('tools') }}, tools from raw.conversations_before_stored_once;
insert or ignore into raw.system_prompts
select {{ system_prompt_hash('conversations') }}, {{ system_prompt('conversations') }}
from raw.conversations_before_stored_once
where {{ system_prompt('conversations') }} is not null;
insert into raw.conversations_written by name
select
    * exclude (tools, conversations),
    {{ tools_hash('tools') }} as tools_hash,
    {{ system_prompt_hash('conversations') }} as system_prompt_hash,
    {{ turns_without_system_prompt('conversations') }} as conversations,
    rowid + 1 as conversation_seq
from raw.conversations_before_stored_once;
drop table raw.conversations_before_stored_once
