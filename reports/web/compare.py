"""Two conversations side by side: their figures, their tool calls aligned step by step, each one's
first error and final answer.

The alignment is difflib's (the longest matching blocks of tool names, as ``diff`` does for
lines): a step both made is paired, a step only one made is shown as missing from the other.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field

import duckdb

from reports.exports.tokens import Tokenizer
from reports.web.queries import text_outside_blocks

FIGURES = (
    ("messages", "n_messages"),
    ("assistant turns", "n_assistant_turns"),
    ("tool calls", "n_tool_calls"),
    ("tool errors", "n_tool_errors"),
    ("malformed calls", "n_malformed_calls"),
    ("thoughts", "n_thoughts"),
    ("distinct tools", "n_distinct_tools"),
    ("widest parallel turn", "max_parallel_width"),
)


@dataclass
class Step:
    message_index: int
    call_index: int
    tool_name: str
    is_error: bool
    error_type: str | None
    parse_issue: str | None


@dataclass
class Side:
    summary: dict
    steps: list[Step]
    tokens: int | None
    first_error: dict | None
    final_answer: str | None


@dataclass
class AlignedRow:
    """One row of the alignment: ``kind`` is same, changed (both made a step, different tools), only_a or only_b."""

    kind: str
    a: Step | None = None
    b: Step | None = None


@dataclass
class Comparison:
    a: Side
    b: Side
    rows: list[AlignedRow] = field(default_factory=list)

    @property
    def matching_steps(self) -> int:
        return sum(1 for row in self.rows if row.kind == "same")


def _dicts(cursor: duckdb.DuckDBPyConnection) -> list[dict]:
    columns = [d[0] for d in cursor.description]
    return [dict(zip(columns, row, strict=True)) for row in cursor.fetchall()]


def load_side(con: duckdb.DuckDBPyConnection, source_config: str, conversation_id: str, tokenizer: Tokenizer | None) -> Side | None:
    found = _dicts(con.execute(
        "select * from fct_conversations where source_config = $config and conversation_id = $id",
        {"config": source_config, "id": conversation_id},
    ))
    if not found:
        return None
    summary = found[0]
    key = {"seq": summary["conversation_seq"]}
    steps = [
        Step(*row) for row in con.execute(
            "select message_index, call_index, coalesce(tool_name, '?'), coalesce(is_error, false), error_type, parse_issue "
            "from fct_tool_calls where conversation_seq = $seq order by message_index, call_index",
            key,
        ).fetchall()
    ]
    errors = _dicts(con.execute(
        "select message_index, tool_name, error_type, left(content, 600) as excerpt from fct_tool_responses "
        "where conversation_seq = $seq and is_error order by message_index, response_index limit 1",
        key,
    ))
    messages = con.execute(
        "select role, content from staging.stg_messages where conversation_seq = $seq order by message_index", key
    ).fetchall()
    last_assistant = next((content for role, content in reversed(messages) if role == "assistant"), None)
    answer = text_outside_blocks(last_assistant) if summary["has_final_answer"] and last_assistant else None
    tokens = sum(tokenizer.count([content or "" for _, content in messages])) if tokenizer is not None else None
    return Side(summary, steps, tokens, errors[0] if errors else None, answer or None)


def align(a: list[Step], b: list[Step]) -> list[AlignedRow]:
    matcher = difflib.SequenceMatcher(None, [s.tool_name for s in a], [s.tool_name for s in b], autojunk=False)
    rows: list[AlignedRow] = []
    for tag, a_lo, a_hi, b_lo, b_hi in matcher.get_opcodes():
        if tag == "equal":
            rows.extend(AlignedRow("same", a[i], b[j]) for i, j in zip(range(a_lo, a_hi), range(b_lo, b_hi), strict=True))
            continue
        paired = min(a_hi - a_lo, b_hi - b_lo) if tag == "replace" else 0
        rows.extend(AlignedRow("changed", a[a_lo + k], b[b_lo + k]) for k in range(paired))
        rows.extend(AlignedRow("only_a", a=a[i]) for i in range(a_lo + paired, a_hi))
        rows.extend(AlignedRow("only_b", b=b[j]) for j in range(b_lo + paired, b_hi))
    return rows


def compare(con: duckdb.DuckDBPyConnection, a: tuple[str, str], b: tuple[str, str], tokenizer: Tokenizer | None) -> Comparison | str:
    """The comparison, or a message naming the conversation that does not exist."""
    side_a = load_side(con, *a, tokenizer)
    if side_a is None:
        return f"No conversation {a[1]!r} in config {a[0]!r}."
    side_b = load_side(con, *b, tokenizer)
    if side_b is None:
        return f"No conversation {b[1]!r} in config {b[0]!r}."
    return Comparison(side_a, side_b, align(side_a.steps, side_b.steps))


def counterpart(con: duckdb.DuckDBPyConnection, summary: dict) -> tuple[str, str] | None:
    """Another config's conversation on the same task (the same text), if the warehouse has one."""
    if not summary.get("task"):
        return None
    row = con.execute(
        "select source_config, conversation_id from fct_conversations "
        "where task = $task and source_config <> $config order by source_config, conversation_seq limit 1",
        {"task": summary["task"], "config": summary["source_config"]},
    ).fetchone()
    return (row[0], row[1]) if row else None
