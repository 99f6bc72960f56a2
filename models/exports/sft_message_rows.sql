{#-
    Every message as the formats render it, in order: one row per user and assistant message (and
    any system message after the first), one row per tool response that answers a well-formed call.
    The leading system prompt is not here: each format chooses its system text by the rule in
    sft_conversation_filters.
-#}
with

messages as (
    select * from {{ ref('sft_messages_as_given') }}
    where
        role in ('user', 'assistant')
        or (role = 'system' and system_prompt_hash is null)
),

assistant_parts as (
    select * from {{ ref('sft_assistant_parts') }}
),

responses as (
    select * from {{ ref('fct_tool_responses') }}
),

calls as (
    select * from {{ ref('fct_tool_calls') }}
),

-- Every message's text is read once (in one scan of raw), assistant parts joined on.
given as (
    select
        messages.source_config,
        messages.conversation_id,
        messages.conversation_seq,
        messages.message_index,
        messages.role,
        messages.content as source_text,
        case when messages.role = 'assistant' then assistant_parts.text_outside_blocks else messages.content end
            as content,
        coalesce(assistant_parts.has_malformed_call, false) as has_malformed_call,
        assistant_parts.reasoning_content,
        coalesce(assistant_parts.n_valid_calls, 0) as n_valid_calls,
        assistant_parts.trl_tool_calls,
        assistant_parts.openai_tool_calls,
        assistant_parts.sharegpt_tool_calls
    from messages
    left join assistant_parts
        on
            {{ same_message('messages', 'assistant_parts') }}
),

given_messages as (
    select
        source_config,
        conversation_id,
        conversation_seq,
        message_index,
        0 as part_index,
        role,
        has_malformed_call,
        -- Nothing left once the reasoning is gone (a turn that only thought): OpenAI has no field
        -- for reasoning and rejects an assistant message without content or calls.
        role = 'assistant' and n_valid_calls = 0 and not has_malformed_call and coalesce(content, '') = ''
            as is_reasoning_only,
        case
            when role <> 'assistant' then {{ json_object_of([('role', 'role'), ('content', 'content')]) }}
            when n_valid_calls > 0
                then {{ json_object_of([
                    ('role', "'assistant'"), ('content', 'content'),
                    ('reasoning_content', 'reasoning_content'), ('tool_calls', 'trl_tool_calls', 'json'),
                ]) }}
            else {{ json_object_of([
                ('role', "'assistant'"), ('content', 'content'), ('reasoning_content', 'reasoning_content'),
            ]) }}
        end as trl_message,
        case
            when role <> 'assistant' then {{ json_object_of([('role', 'role'), ('content', 'content')]) }}
            when n_valid_calls > 0
                then {{ json_object_of([
                    ('role', "'assistant'"), ('content', "nullif(content, '')"), ('tool_calls', 'openai_tool_calls', 'json'),
                    ('weight', 'case when has_malformed_call then 0 else 1 end', 'number'),
                ]) }}
            -- A turn whose calls are all malformed keeps its text as written, untrained (weight 0).
            else {{ json_object_of([
                ('role', "'assistant'"),
                ('content', "case when has_malformed_call and content = '' then source_text else content end"),
                ('weight', 'case when has_malformed_call then 0 else 1 end', 'number'),
            ]) }}
        end as openai_message,
        -- LLaMA-Factory's sharegpt tags: a turn with well-formed calls is a function_call whose
        -- calls it parses and renders in the template's own tool format (the thought and the text
        -- go first, as its formatter puts them); any other assistant turn is trained as written.
        case
            when role = 'user' then 'human'
            when role = 'system' then 'system'
            when n_valid_calls > 0 then 'function_call'
            else 'gpt'
        end as sharegpt_from,
        case
            when role = 'assistant' and n_valid_calls > 0
                then
                    coalesce('<think>' || reasoning_content || '</think>' || chr(10), '')
                    || coalesce(nullif(content, '') || chr(10), '')
                    || '<tool_call>' || sharegpt_tool_calls::string || '</tool_call>'
            else source_text
        end as sharegpt_value
    from given
),

answered as (
    select
        responses.source_config,
        responses.conversation_id,
        responses.conversation_seq,
        responses.message_index,
        responses.response_index,
        coalesce(responses.tool_name, calls.tool_name) as tool_name,
        coalesce(responses.tool_call_id, 'call_' || calls.message_index || '_' || calls.call_index) as tool_call_id,
        case
            when {{ json_kind('responses.content') }} = 'VARCHAR' then {{ json_text_at('responses.content', '$') }}
            else responses.content::string
        end as content_text
    from responses
    inner join calls
        on
            {{ same_call('calls', 'responses') }}
    where calls.parse_issue is null
),

tool_messages as (
    select
        source_config,
        conversation_id,
        conversation_seq,
        message_index,
        response_index as part_index,
        'tool' as role,
        false as has_malformed_call,
        false as is_reasoning_only,
        {{ json_object_of([('role', "'tool'"), ('name', 'tool_name'), ('content', 'content_text')]) }} as trl_message,
        {{ json_object_of([('role', "'tool'"), ('tool_call_id', 'tool_call_id'), ('content', 'content_text')]) }}
            as openai_message,
        'tool' as sharegpt_from,
        content_text as sharegpt_value
    from answered
)

select * from given_messages
union all
select * from tool_messages
