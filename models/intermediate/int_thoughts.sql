{#-
    A view: each think block of an assistant message, from its segments (int_assistant_segments),
    where its text is stored once. The stripped text is not stored, nor its words counted: fct_thoughts
    does both when asked.
-#}
{{ config(materialized='view') }}

with

segments as (
    select * from {{ ref('int_assistant_segments') }}
    where segment_kind = 'think'
)

select
    source_config,
    conversation_id,
    message_index,
    ingested_at,
    conversation_seq,
    segment_index as thought_index,
    body as thought_raw,
    not is_closed as is_unclosed,
    thought_position as position,
    n_chars,
    n_chars = 0 as is_empty
from segments
