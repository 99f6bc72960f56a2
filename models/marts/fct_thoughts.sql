{#-
    A view: the thought text (half of a real trace's text) is stored once, in int_thoughts, and
    read from there; stored again here it made the 60,000-row build write it twice more.
-#}
{{ config(materialized='view', contract=mart_contract()) }}

with

thoughts as (
    select * from {{ ref('int_thoughts') }}
)

select
    {{ slash_key(['source_config', 'conversation_id', 'message_index', 'thought_index']) }} as thought_key,
    source_config,
    conversation_id,
    conversation_seq,
    message_index,
    thought_index,
    {{ strip('thought_raw') }} as thought,
    thought_raw,
    n_chars,
    {{ word_count('thought_raw') }} as n_words,
    is_empty,
    is_unclosed,
    position
from thoughts
