-- Every opening <tool_call>, <tool_response> and <think> tag in assistant and tool
-- messages yields exactly one row in the marts, parsed or flagged. Incremental builds check the
-- conversations no passing build has checked (macros/tested_through.sql).
with

messages as (
    select
        source_config,
        conversation_id,
        message_index,
        role,
        case when role = 'assistant' then {{ count_opening_tags(without_think('content'), 'tool_call') }} else 0 end
            as call_tags,
        case when role = 'tool' then {{ count_opening_tags('content', 'tool_response') }} else 0 end
            as response_tags,
        case when role = 'assistant' then {{ count_opening_tags('content', 'think') }} else 0 end
            as think_tags
    from {{ ref('stg_messages') }}
    where role in ('assistant', 'tool') and {{ untested_conversations() }}
),

{#- Rows per message in each mart that holds one row per tag. -#}
{%- for name, model in [('calls', 'fct_tool_calls'), ('responses', 'fct_tool_responses'), ('thoughts', 'fct_thoughts')] %}
{{ name }} as (
    select
        source_config,
        conversation_id,
        message_index,
        count(*) as n_rows
    from {{ ref(model) }}
    where {{ untested_conversations() }}
    group by all
){{ "," if not loop.last }}
{% endfor %}
select
    messages.source_config,
    messages.conversation_id,
    messages.message_index
from messages
left join calls using (source_config, conversation_id, message_index)
left join responses using (source_config, conversation_id, message_index)
left join thoughts using (source_config, conversation_id, message_index)
where
    messages.call_tags <> coalesce(calls.n_rows, 0)
    or messages.response_tags <> coalesce(responses.n_rows, 0)
    or messages.think_tags <> coalesce(thoughts.n_rows, 0)
