-- Does the agent think more before calling a tool, or after receiving results?
-- Thought length and share of empty thoughts by what the turn follows, with and
-- without an error in the tool response, per model.
select
    source_config,
    context,
    follows_tool_error,
    n_turns,
    avg_thought_chars,
    median_thought_chars,
    share_empty_thoughts
from {{ ref('rpt_thinking_by_context') }}
order by source_config, context, follows_tool_error
