-- The delete_reingested pre-hook (dbt_project.yml) reads stg_conversations.
-- depends_on: {{ ref('stg_conversations') }}
with

{{ tag_block_rows(
    'assistant', 'content', 'think', 'thought_index',
    per_message=[
        (count_opening_tags("split_part(content, '<tool_call>', 1)", 'think'), 'n_thoughts_before_first_call'),
        (count_opening_tags(without_think('content'), 'tool_call'), 'n_calls'),
    ],
) }},

described as (
    select
        source_config,
        conversation_id,
        message_index,
        ingested_at,
        conversation_seq,
        thought_index::integer as thought_index,
        block.body as thought_raw,
        {{ strip('block.body') }} as thought,
        not block.is_closed as is_unclosed,
        case
            when n_calls = 0 then 'no_calls'
            when thought_index < n_thoughts_before_first_call then 'before_calls'
            else 'after_calls'
        end as position
    from unnested
)

-- The stripped text is not stored, nor its words counted (10 s of regex at 15,000 real-shaped
-- rows, for a figure no model reads): fct_thoughts does both when asked.
select
    source_config,
    conversation_id,
    message_index,
    ingested_at,
    conversation_seq,
    thought_index,
    thought_raw,
    is_unclosed,
    position,
    length(thought) as n_chars,
    thought = '' as is_empty
from described
