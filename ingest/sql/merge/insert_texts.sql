-- Each new text once, from the batch's payload for just those rows.
{% from "_expressions.sql" import tools_hash, system_prompt, system_prompt_hash -%}
create or replace temp table new_texts as
select tools, conversations from batch_payload where source_row in (select source_row from to_load);

insert into raw.toolsets
select {{ tools_hash('tools') }} as tools_hash, any_value(tools)
from new_texts
where tools_hash not in (select tools_hash from raw.toolsets)
group by all;

insert into raw.system_prompts
select
    {{ system_prompt_hash('conversations') }} as system_prompt_hash,
    any_value({{ system_prompt('conversations') }})
from new_texts
where system_prompt_hash is not null and system_prompt_hash not in (select system_prompt_hash from raw.system_prompts)
group by all
