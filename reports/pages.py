"""What each report page shows: sections of (a saved analysis, chart, table, words).

A section's query is a file of analyses/, the same one `dbt compile` compiles for ad hoc use
(as Evidence pages keep their queries in sources/*.sql). The parsing lives in the dbt models;
an analysis only selects from an rpt_ model, orders and limits, and is printed under its chart
exactly as it ran.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cache, partial
from pathlib import Path
from typing import Protocol

import jinja2

from reports import charts
from trace_warehouse.paths import PROJECT_DIR

ANALYSES_DIR = PROJECT_DIR / "analyses"

class ChartFn(Protocol):
    """Draws a section's rows into the image file ``path``; returns the path written."""

    def __call__(self, rows: list[dict], *, path: Path) -> Path: ...


@cache
def analysis_sql(name: str) -> str:
    """``analyses/<name>.sql`` as the report runs it on the warehouse: ``ref('model')`` is the model's table."""
    path = ANALYSES_DIR / f"{name}.sql"
    template = jinja2.Environment(undefined=jinja2.StrictUndefined).from_string(path.read_text(encoding="utf-8"))
    return template.render(ref=lambda model: model).strip()


@dataclass(frozen=True)
class Section:
    query_name: str  # names the chart and the query block
    analysis: str  # the query: analyses/<analysis>.sql
    title: str
    text: str = ""
    chart: ChartFn | None = None

    @property
    def sql(self) -> str:
        return analysis_sql(self.analysis)


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
                "headline_figures", "overview_per_model",
                "Headline figures",
                "Error rate is tool errors over tool responses; shares are over conversations.",
            ),
            Section(
                "conversation_lengths", "conversation_length_distribution",
                "Conversation length",
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
                "tool_calls_by_category", "tool_frequency_by_category",
                "Tool calls per category",
                "Stacked by tool; the ten most called tools are named, the rest grouped as other.",
                partial(charts.stacked_bar, x="category", y="n_calls", stack="tool_name",
                        title="Tool calls per category", xlabel="category", ylabel="tool calls (count)"),
            ),
            Section(
                "tool_transitions", "common_tool_transitions",
                "Tool-to-tool transitions",
                "Consecutive calls within a conversation (row: previous call, column: next call), top 40 pairs.",
                partial(charts.heatmap, row_key="from_tool", col_key="to_tool", value="n_transitions",
                        title="Step sequences: tool-to-tool transitions", xlabel="next tool", ylabel="previous tool"),
            ),
            Section(
                "parallel_width", "parallel_width_distribution",
                "Parallel width",
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
                "tool_error_rates", "error_rate_per_tool_and_model",
                "Error rate by tool and model",
                "Tools with at least five calls.",
                partial(charts.grouped_bar, x="tool_name", y="error_rate", group="source_config",
                        title="Error rate by tool and model", xlabel="error rate (errors / calls)",
                        ylabel="tool", horizontal=True),
            ),
            Section(
                "after_error", "reaction_after_error",
                "What the agent does right after an error",
                "The assistant turn that follows a tool message holding an error.",
                partial(charts.grouped_bar, x="reaction", y="n_turns", group="source_config",
                        title="Reaction to a tool error", xlabel="next assistant turn", ylabel="turns (count)"),
            ),
            Section(
                "completion_by_category", "categories_that_fail_to_complete",
                "Which categories fail to complete",
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
                "thinking_by_context", "thinking_before_vs_after_tools",
                "Thought length before a call vs after results",
                "conversation_start and user_message turns think before any result; tool_response turns think after "
                "results, with or without an error in them.",
                partial(charts.grouped_bar, x="context", y="avg_thought_chars", group="source_config",
                        title="Thought length by what the turn follows", xlabel="the turn follows",
                        ylabel="mean thought length (characters)"),
            ),
            Section(
                "turn_kinds_by_category", "assistant_turn_kinds_by_category",
                "Assistant turns by kind",
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
                "model_comparison", "overview_per_model",
                "Side by side",
            ),
            Section(
                "length_vs_tool_usage", "tool_usage_vs_conversation_length",
                "Tool usage by conversation length",
                "Mean tool calls per conversation, by length bin.",
                partial(charts.line, x="messages_bin", y="avg_tool_calls", group="source_config",
                        title="Tool calls by conversation length", xlabel="messages per conversation (bin)",
                        ylabel="mean tool calls per conversation"),
            ),
            Section(
                "length_tool_correlation", "length_tool_correlation",
                "Correlation of length and tool calls",
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
                "data_quality_issues", "data_quality_issues",
                "Issues found",
            ),
        ),
    ),
)
