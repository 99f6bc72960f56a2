"""What each report page shows: sections of (query over an rpt_ model, chart, table, words).

The SQL lives in the dbt models under models/reporting; a section's query only selects,
orders and limits, and is printed under its chart exactly as it ran.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

from reports import charts

ChartFn = Callable[[list[dict], Path], Path]


@dataclass(frozen=True)
class Section:
    query_name: str
    title: str
    sql: str
    text: str = ""
    chart: ChartFn | None = None


@dataclass(frozen=True)
class Page:
    slug: str
    title: str
    intro: str
    sections: tuple[Section, ...] = field(default_factory=tuple)


PAGES: tuple[Page, ...] = (
    Page(
        "overview",
        "Overview",
        "What is in the warehouse, per model (source_config).",
        (
            Section(
                "headline_figures",
                "Headline figures",
                "select * from rpt_overview order by source_config",
                "Error rate is tool errors over tool responses; shares are over conversations.",
            ),
            Section(
                "conversation_lengths",
                "Conversation length",
                "select source_config, n_messages, n_conversations from rpt_conversation_lengths order by source_config, n_messages",
                "How many messages a conversation has, per model.",
                partial(charts.weighted_histogram, value="n_messages", weight="n_conversations", group="source_config",
                        title="Conversation length per model", xlabel="messages per conversation (count)",
                        ylabel="conversations (count)"),
            ),
        ),
    ),
    Page(
        "tools",
        "Tools",
        "Which tools the agent calls, where, and in what order.",
        (
            Section(
                "tool_calls_by_category",
                "Tool calls per category",
                "select category, tool_name, n_calls from rpt_tool_calls_by_category order by category, n_calls desc, tool_name",
                "Stacked by tool; the ten most called tools are named, the rest grouped as other.",
                partial(charts.stacked_bar, x="category", y="n_calls", stack="tool_name",
                        title="Tool calls per category", xlabel="category", ylabel="tool calls (count)"),
            ),
            Section(
                "tool_transitions",
                "Tool-to-tool transitions",
                "select from_tool, to_tool, sum(n_transitions)::bigint as n_transitions from rpt_tool_transitions "
                "group by all order by n_transitions desc, from_tool, to_tool limit 40",
                "Consecutive calls within a conversation (row: previous call, column: next call), top 40 pairs.",
                partial(charts.heatmap, row_key="from_tool", col_key="to_tool", value="n_transitions",
                        title="Step sequences: tool-to-tool transitions", xlabel="next tool", ylabel="previous tool"),
            ),
            Section(
                "parallel_width",
                "Parallel width",
                "select source_config, parallel_width, n_turns from rpt_parallel_width order by parallel_width, source_config",
                "Calls per assistant turn that makes at least one call; log scale, since single calls dominate.",
                partial(charts.grouped_bar, x="parallel_width", y="n_turns", group="source_config",
                        title="Parallel width per model", xlabel="calls in one assistant turn (count)",
                        ylabel="assistant turns (count, log scale)", log_y=True),
            ),
        ),
    ),
    Page(
        "errors",
        "Errors",
        "Where tools fail and what the agent does next. A response is an error when success is false, "
        "error is non-empty, exit_code is a non-zero integer, or (without an exit_code) a Python traceback "
        "appears; `\"error\": null` and budget warnings are not errors.",
        (
            Section(
                "tool_error_rates",
                "Error rate by tool and model",
                "select source_config, tool_name, n_calls, n_errors, error_rate from rpt_tool_error_rates "
                "where n_calls >= 5 order by error_rate desc, tool_name, source_config",
                "Tools with at least five calls.",
                partial(charts.grouped_bar, x="tool_name", y="error_rate", group="source_config",
                        title="Error rate by tool and model", xlabel="error rate (errors / calls)",
                        ylabel="tool", horizontal=True),
            ),
            Section(
                "after_error",
                "What the agent does right after an error",
                "select source_config, reaction, n_turns from rpt_after_error order by source_config, n_turns desc",
                "The assistant turn that follows a tool message holding an error.",
                partial(charts.grouped_bar, x="reaction", y="n_turns", group="source_config",
                        title="Reaction to a tool error", xlabel="next assistant turn", ylabel="turns (count)"),
            ),
            Section(
                "completion_by_category",
                "Which categories fail to complete",
                "select category, sum(n_conversations)::bigint as n_conversations, "
                "round(sum(share_without_final_answer * n_conversations) / sum(n_conversations), 4) as share_without_final_answer, "
                "round(sum(share_hit_iteration_limit * n_conversations) / sum(n_conversations), 4) as share_hit_iteration_limit, "
                "round(sum(share_unrecovered_errors * n_conversations) / sum(n_conversations), 4) as share_unrecovered_errors, "
                "round(sum(share_stuck_loop * n_conversations) / sum(n_conversations), 4) as share_stuck_loop "
                "from rpt_completion_by_category group by category order by share_without_final_answer desc, category",
                "Per category; rpt_completion_by_category also splits by subcategory.",
                partial(charts.grouped_bar, x="category", y="share_without_final_answer", group=None,
                        title="Conversations without a final answer", xlabel="category",
                        ylabel="share of conversations (0-1)"),
            ),
        ),
    ),
    Page(
        "reasoning",
        "Reasoning",
        "How much the agent thinks, and when.",
        (
            Section(
                "thinking_by_context",
                "Thought length before a call vs after results",
                "select source_config, context, follows_tool_error, n_turns, avg_thought_chars, median_thought_chars, "
                "share_empty_thoughts from rpt_thinking_by_context order by source_config, context, follows_tool_error",
                "conversation_start and user_message turns think before any result; tool_response turns think after "
                "results, with or without an error in them.",
                partial(charts.grouped_bar, x="context", y="avg_thought_chars", group="source_config",
                        title="Thought length by what the turn follows", xlabel="the turn follows",
                        ylabel="mean thought length (characters)"),
            ),
            Section(
                "turn_kinds_by_category",
                "Assistant turns by kind",
                "select category, turn_kind, n_turns from rpt_turn_kinds_by_category order by category, turn_kind",
                "reasoning_only, tool_only, both or neither (reasoning means a non-empty thought).",
                partial(charts.stacked_bar, x="category", y="n_turns", stack="turn_kind",
                        title="Assistant turns by kind per category", xlabel="category", ylabel="assistant turns (count)"),
            ),
        ),
    ),
    Page(
        "comparison",
        "kimi vs glm-5.1",
        "The two models side by side.",
        (
            Section(
                "model_comparison",
                "Side by side",
                "select * from rpt_overview order by source_config",
            ),
            Section(
                "length_vs_tool_usage",
                "Tool usage by conversation length",
                "select source_config, messages_bin, n_conversations, avg_tool_calls from rpt_length_vs_tool_usage "
                "order by source_config, length_bin",
                "Mean tool calls per conversation, by length bin.",
                partial(charts.line, x="messages_bin", y="avg_tool_calls", group="source_config",
                        title="Tool calls by conversation length", xlabel="messages per conversation (bin)",
                        ylabel="mean tool calls per conversation"),
            ),
            Section(
                "length_tool_correlation",
                "Correlation of length and tool calls",
                "select source_config, n_conversations, correlation from rpt_length_tool_correlation order by source_config",
                "Pearson correlation of messages and tool calls per conversation.",
            ),
        ),
    ),
    Page(
        "data-quality",
        "Data quality",
        "Malformed calls, orphans, loops and rejected rows: what the parser flagged instead of dropping.",
        (
            Section(
                "data_quality_issues",
                "Issues found",
                "select source_config, issue, n from rpt_data_quality order by source_config, n desc, issue",
            ),
        ),
    ),
)
