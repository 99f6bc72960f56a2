{#-
    Each distinct system prompt split into the Hermes tool-use block and the rest. A trainer's chat
    template writes its own tool instructions from a `tools` column; the exports keep only the rest,
    so the definitions are rendered once.
-#}
with

system_prompts as (
    select * from {{ ref('stg_system_prompts') }}
),

split as (
    select
        system_prompt_hash,
        system_prompt,
        {{ regex_matches('system_prompt', hermes_tools_block_pattern()) }} as has_hermes_tools_block,
        -- Text on both sides of the block stays two paragraphs.
        {{ strip(regex_replace_all('system_prompt', hermes_tools_block_pattern(), 'chr(10) || chr(10)')) }}
            as instructions
    from system_prompts
),

classified as (
    select
        system_prompt_hash,
        system_prompt,
        has_hermes_tools_block,
        case when has_hermes_tools_block then instructions else system_prompt end as instructions,
        case
            when not has_hermes_tools_block then 'not_recognised'
            when instructions = '' then 'hermes_block_only'
            else 'hermes_block_and_instructions'
        end as system_prompt_form
    from split
)

select * from classified
