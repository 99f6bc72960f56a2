"""The marts agree, conversation by conversation, with an independent pure-Python reading."""

from __future__ import annotations

import duckdb
import pytest

from ingest.synthetic.generator import SAMPLE_ROWS, generate
from tests.reference_parser import summarise

FIELDS = (
    "n_messages", "n_tool_calls", "n_valid_tool_calls", "n_malformed_calls", "n_tool_responses", "n_tool_errors",
    "n_thoughts", "n_empty_thoughts", "max_parallel_width", "n_distinct_tools", "last_role", "first_user_message", "hit_iteration_limit",
    "has_stuck_loop", "has_final_answer",
)


@pytest.fixture(scope="module")
def marts(sample_db):
    con = duckdb.connect(str(sample_db), read_only=True)
    cursor = con.execute(f"select source_config, conversation_id, {', '.join(FIELDS)} from fct_conversations")
    columns = [d[0] for d in cursor.description]
    rows = {(r[0], r[1]): dict(zip(columns, r, strict=True)) for r in cursor.fetchall()}
    issues = {}
    for config, conversation, issue_list in con.execute(
        "select source_config, conversation_id, list_sort(list(parse_issue)) from fct_tool_calls "
        "where parse_issue is not null group by all"
    ).fetchall():
        issues[(config, conversation)] = issue_list
    con.close()
    return rows, issues


def test_every_conversation_matches_the_reference(marts):
    rows, issues = marts
    mismatches = []
    n = 0
    for config, row in generate(SAMPLE_ROWS):
        n += 1
        expected = summarise(row)
        actual = rows[(config, row["id"])]
        for field in FIELDS:
            if actual[field] != expected[field]:
                mismatches.append((row["id"], field, actual[field], expected[field]))
        if issues.get((config, row["id"]), []) != expected["parse_issues"]:
            mismatches.append((row["id"], "parse_issues", issues.get((config, row["id"])), expected["parse_issues"]))
    assert n == len(rows)
    assert not mismatches, mismatches[:20]


def test_reference_sees_every_quirk_in_the_sample(marts):
    """The comparison above is only worth something if the sample holds every quirk."""
    summaries = [summarise(row) for _, row in generate(SAMPLE_ROWS)]
    issues = {issue for s in summaries for issue in s["parse_issues"]}
    assert {"invalid_json", "unclosed_tag", "not_an_object", "unknown_tool", "missing_required_argument"} <= issues
    assert any(s["n_empty_thoughts"] for s in summaries)
    assert any(s["hit_iteration_limit"] for s in summaries)
    assert any(s["has_stuck_loop"] for s in summaries)
    assert any(s["last_role"] == "user" for s in summaries)
    assert any(s["n_tool_calls"] == 0 for s in summaries)
    assert max(s["max_parallel_width"] for s in summaries) == 6
