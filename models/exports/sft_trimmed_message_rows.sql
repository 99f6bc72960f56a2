{#- The message rows a conversation-level training row keeps: up to its last assistant turn. -#}
with

filters as (
    select * from {{ ref('sft_conversation_filters') }}
),

message_rows as (
    select * from {{ ref('sft_message_rows') }}
),

kept_rows as (
    select message_rows.*
    from message_rows
    inner join filters
        on
            {{ same_conversation('message_rows', 'filters') }}
    where message_rows.message_index <= filters.last_assistant_message_index
)

select * from kept_rows
