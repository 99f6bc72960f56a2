with

thoughts as (
    select * from {{ ref('int_thoughts') }}
)

select
    source_config || '/' || conversation_id || '/' || message_index || '/' || thought_index as thought_key,
    source_config,
    conversation_id,
    conversation_seq,
    message_index,
    thought_index,
    thought,
    thought_raw,
    n_chars,
    n_words,
    is_empty,
    is_unclosed,
    position
from thoughts
