{#- The system prompt repeats on every row; keep each distinct text once, keyed by its hash. -#}
with

source as (
    select conversations[1] as first_message
    from {{ source('raw', 'conversations') }}
),

system_prompts as (
    select distinct
        md5(first_message."value") as system_prompt_hash,
        first_message."value" as system_prompt
    from source
    where first_message."from" = 'system'
)

select
    system_prompt_hash,
    system_prompt,
    length(system_prompt) as n_chars
from system_prompts
