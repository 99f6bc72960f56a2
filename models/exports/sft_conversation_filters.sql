{#-
    The per-conversation facts export filters select on, and the two rules every conversation-level
    format follows: where the tool definitions go (system prompt or `tools`, never both), and which
    turns a training row keeps (up to the last assistant turn).
-#}
with

conversations as (
    select * from {{ ref('fct_conversations') }}
),

last_assistant_turns as (
    select
        source_config,
        conversation_id,
        conversation_seq,
        max(message_index) as last_assistant_message_index
    from {{ ref('fct_assistant_turns') }}
    group by all
),

system_prompts as (
    select * from {{ ref('int_system_prompts') }}
),

toolsets as (
    select * from {{ ref('stg_toolsets') }}
),

-- A call the model should never learn: a tool that does not exist, an argument the tool does not
-- take or of the wrong type (int_tool_call_schema_checks; `no_tool_definitions` is not one).
schema_violations as (
    select distinct conversation_seq
    from {{ ref('int_tool_call_schema_checks') }}
    where schema_issue in ('unknown_tool', 'missing_required', 'unexpected_argument', 'wrong_type', 'enum_violation')
),

described as (
    select
        conversations.source_config,
        conversations.conversation_id,
        conversations.conversation_seq,
        conversations.category,
        conversations.tools_hash,
        conversations.system_prompt_hash,
        conversations.n_tool_calls,
        conversations.n_malformed_calls > 0 as has_malformed_call,
        conversations.has_stuck_loop,
        conversations.hit_iteration_limit or not conversations.has_final_answer as is_unfinished,
        conversations.n_orphan_responses > 0
        or conversations.n_unanswered_calls > conversations.n_malformed_calls as has_unpaired_call,
        conversations.max_parallel_width,
        last_assistant_turns.last_assistant_message_index,
        last_assistant_turns.last_assistant_message_index is not null as has_assistant_turn,
        -- Turns after the last assistant turn (an iteration-limit notice, a last question): a
        -- training row ends on what the model said, so they are dropped and counted.
        coalesce(
            conversations.n_messages - 1 - last_assistant_turns.last_assistant_message_index, 0
        ) as n_trailing_turns,
        coalesce(system_prompts.system_prompt_form, 'no_system_prompt') as system_prompt_form,
        coalesce(toolsets.tools_shape, 'missing') in ('invalid', 'not_a_list') as has_unparsable_tools,
        coalesce(contains(system_prompts.system_prompt, '<tools>'), false) as system_prompt_mentions_tools,
        schema_violations.conversation_seq is not null as has_schema_violation
    from conversations
    left join last_assistant_turns
        on
            {{ same_conversation('conversations', 'last_assistant_turns') }}
    left join system_prompts
        on conversations.system_prompt_hash = system_prompts.system_prompt_hash
    left join toolsets
        on conversations.tools_hash = toolsets.tools_hash
    left join schema_violations
        on conversations.conversation_seq = schema_violations.conversation_seq
)

select
    *,
    -- The Hermes block comes out of the system prompt and the definitions go in `tools`, so the
    -- trainer's chat template writes its own tool instructions once. A prompt whose tools value
    -- does not parse, or that is not recognised, stays verbatim.
    system_prompt_form in ('hermes_block_only', 'hermes_block_and_instructions') and not has_unparsable_tools
        as system_prompt_rewritten,
    -- `tools` is given unless the system text, kept verbatim, lists tools itself.
    not has_unparsable_tools
    and not (system_prompt_form = 'not_recognised' and system_prompt_mentions_tools) as gives_tools
from described
