"""The generator's rows look like the real dataset's: the figures of ``generator.TARGETS``,
within bands, measured by ``ingest.synthetic.calibration.describe`` on 2,000 rows (6 s)."""

from __future__ import annotations

import pytest

from ingest.synthetic.calibration import describe
from ingest.synthetic.generator import TARGETS, TOOL_MIX, generate


@pytest.fixture(scope="module")
def figures() -> dict:
    return describe(generate(2_000, seed=123))


@pytest.mark.parametrize("config", ["kimi", "glm-5.1"])
def test_turns_and_calls_per_row_match_the_card(figures, config):
    got, want = figures["per_config"][config], TARGETS[config]
    assert got["mean_turns"] == pytest.approx(want["mean_turns"], rel=0.08)
    assert got["mean_tool_calls"] == pytest.approx(want["mean_tool_calls"], rel=0.08)
    # Real rows run from a handful of messages to iteration limits past 50.
    assert got["min_turns"] <= 5 and got["max_turns"] >= 54


def test_parallel_turns_and_recovery_shares(figures):
    assert figures["share_of_parallel_turns"] == pytest.approx(TARGETS["share_of_parallel_turns"], abs=0.03)
    assert figures["share_of_rows_failing_then_recovering"] == pytest.approx(
        TARGETS["share_of_rows_failing_then_recovering"], abs=0.05
    )


def test_sizes_of_rows_calls_and_outputs(figures):
    assert figures["mean_row_kb"] == pytest.approx(TARGETS["mean_row_kb"], rel=0.15)
    assert figures["p99_row_kb"] >= 200
    assert 18 <= figures["system_prompt_and_tools_kb"] <= 30
    # The figures the old generator missed by 11x: real calls carry files, diffs and scripts.
    assert figures["mean_call_chars"] == pytest.approx(TARGETS["mean_call_chars"], rel=0.2)
    assert figures["p99_call_chars"] == pytest.approx(TARGETS["p99_call_chars"], rel=0.3)
    assert figures["mean_output_chars"] == pytest.approx(TARGETS["mean_output_chars"], rel=0.3)
    assert figures["p99_output_chars"] >= 8_000
    assert figures["max_output_chars"] >= TARGETS["max_output_chars_at_least"]


def test_tool_mix_follows_the_card(figures):
    total = sum(TOOL_MIX.values())
    mix = figures["tool_mix"]
    for tool in ("terminal", "read_file", "search_files", "write_file", "browser_snapshot", "browser_navigate", "patch"):
        assert mix[tool] == pytest.approx(TOOL_MIX[tool] / total, rel=0.35), tool
    top = list(mix)[:4]
    assert top == ["terminal", "read_file", "search_files", "write_file"] or set(top) == {
        "terminal", "read_file", "search_files", "write_file"
    }
