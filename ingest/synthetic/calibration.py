"""Measure rows the way the generator's ``TARGETS`` are stated: turns, calls, sizes, tool mix.

Plain Python over row dicts, independent of the warehouse, so it can judge the generator (its
test) and describe any file of real or generated rows (``traces sample --describe``).
"""

from __future__ import annotations

import json
import re
import statistics
from collections import Counter
from collections.abc import Iterable

_CALL = re.compile(r"<tool_call>\s*(.*?)\s*</tool_call>", re.DOTALL)
_RESPONSE = re.compile(r"<tool_response>\s*(.*?)\s*</tool_response>", re.DOTALL)


def _quantile(values: list[int], q: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return float(ordered[min(len(ordered) - 1, int(q * len(ordered)))])


def _is_error(content: object) -> bool:
    if isinstance(content, dict):
        code = content.get("exit_code")
        if isinstance(code, int) and not isinstance(code, bool):
            return code != 0
        if content.get("success") is False or content.get("error"):
            return True
        return "Traceback (most recent call last)" in str(content.get("output", ""))
    return False


def _outcomes(turn: str) -> tuple[list[bool], list[int]]:
    """Error flags and content sizes (JSON characters) of a tool turn's responses."""
    errors, sizes = [], []
    for body in _RESPONSE.findall(turn):
        try:
            content = json.loads(body).get("content")
        except (json.JSONDecodeError, AttributeError):
            continue
        errors.append(_is_error(content))
        sizes.append(len(json.dumps(content, ensure_ascii=False)))
    return errors, sizes


def describe(rows: Iterable[tuple[str, dict]]) -> dict:
    """Figures for ``(config, row)`` pairs, per config and overall."""
    per_config: dict[str, dict[str, list[int]]] = {}
    call_sizes: list[int] = []
    output_sizes: list[int] = []
    row_sizes: list[int] = []
    prompt_sizes: list[int] = []
    tools_used: Counter[str] = Counter()
    calling_turns = parallel_turns = failing_then_recovering = n_rows = 0
    for config, row in rows:
        n_rows += 1
        figures = per_config.setdefault(config, {"turns": [], "calls": []})
        turns = row["conversations"]
        figures["turns"].append(len(turns))
        row_sizes.append(len(json.dumps(row, ensure_ascii=False)))
        system = turns[0]["value"] if turns and turns[0]["from"] == "system" else ""
        prompt_sizes.append(len(system) + len(row.get("tools") or ""))
        calls = 0
        outcomes: list[bool] = []
        for turn in turns:
            if turn["from"] == "gpt":
                bodies = _CALL.findall(turn["value"])
                calls += turn["value"].count("<tool_call>")
                if bodies:
                    calling_turns += 1
                    parallel_turns += len(bodies) > 1
                for body in bodies:
                    call_sizes.append(len(body))
                    try:
                        tools_used[json.loads(body).get("name")] += 1
                    except (json.JSONDecodeError, AttributeError):
                        pass
            elif turn["from"] == "tool":
                errors, sizes = _outcomes(turn["value"])
                outcomes += errors
                output_sizes += sizes
        figures["calls"].append(calls)
        first_error = next((i for i, failed in enumerate(outcomes) if failed), None)
        failing_then_recovering += first_error is not None and not all(outcomes[first_error:])
    total_calls = sum(tools_used.values()) or 1
    return {
        "rows": n_rows,
        "per_config": {
            config: {
                "rows": len(f["turns"]),
                "mean_turns": statistics.fmean(f["turns"]),
                "min_turns": min(f["turns"]),
                "max_turns": max(f["turns"]),
                "mean_tool_calls": statistics.fmean(f["calls"]),
            }
            for config, f in per_config.items()
        },
        "share_of_parallel_turns": parallel_turns / max(calling_turns, 1),
        "share_of_rows_failing_then_recovering": failing_then_recovering / max(n_rows, 1),
        "mean_row_kb": statistics.fmean(row_sizes) / 1e3,
        "p1_row_kb": _quantile(row_sizes, 0.01) / 1e3,
        "p99_row_kb": _quantile(row_sizes, 0.99) / 1e3,
        "system_prompt_and_tools_kb": statistics.fmean(prompt_sizes) / 1e3,
        "mean_call_chars": statistics.fmean(call_sizes) if call_sizes else 0.0,
        "p99_call_chars": _quantile(call_sizes, 0.99),
        "mean_output_chars": statistics.fmean(output_sizes) if output_sizes else 0.0,
        "p99_output_chars": _quantile(output_sizes, 0.99),
        "max_output_chars": max(output_sizes, default=0),
        "tool_mix": {name: n / total_calls for name, n in tools_used.most_common()},
    }
