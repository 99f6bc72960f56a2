"""A small, independent pure-Python reading of one conversation, to check the marts against.

It follows the documented rules (docs/parsing.md) with re and json only.
"""

from __future__ import annotations

import json
import re

THINK_BLOCK = re.compile(r"<think>.*?(?:</think>|$)", re.S)
ITERATION_LIMIT = re.compile(r"(?i)(maximum|max) (number of )?(tool[- ]calling )?(iterations|turns|steps)")
TRACEBACK = "Traceback (most recent call last)"
ROLES = {"system": "system", "human": "user", "user": "user", "gpt": "assistant", "assistant": "assistant", "tool": "tool"}
WS = " \t\n\r"


def blocks(text: str, tag: str) -> list[tuple[str, bool]]:
    pieces = text.split(f"<{tag}>")[1:]
    return [(p.split(f"</{tag}>")[0], f"</{tag}>" in p) for p in pieces]


def tool_definitions(tools_json: str | None) -> dict[str, list[str]]:
    try:
        entries = json.loads(tools_json) if tools_json else []
    except json.JSONDecodeError:
        return {}
    out = {}
    for entry in entries if isinstance(entries, list) else []:
        fn = entry.get("function") if entry.get("type") == "function" and "function" in entry else entry
        if isinstance(fn, dict) and fn.get("name"):
            out[fn["name"]] = list((fn.get("parameters") or {}).get("required") or [])
    return out


def parse_call(body: str, closed: bool, definitions: dict[str, list[str]]) -> tuple[str | None, object, str | None]:
    """(tool name, arguments, parse issue) of one call body."""
    text = body.strip(WS)
    try:
        value = json.loads(text)
        valid = True
    except json.JSONDecodeError:
        value, valid = None, False
    if not isinstance(value, dict):
        m = re.search(r'"name"\s*:\s*"([^"]*)"', text)
        name = m.group(1) if m and m.group(1) else None
        issue = "unclosed_tag" if not closed else ("invalid_json" if not valid else "not_an_object")
        return name, None, issue
    name, args = value.get("name"), value.get("arguments")
    if isinstance(args, str):
        try:
            args = json.loads(args)
        except json.JSONDecodeError:
            pass
    if not closed:
        return name, args, "unclosed_tag"
    if not name:
        return name, args, "missing_name"
    if definitions and name not in definitions:
        return name, args, "unknown_tool"
    missing = [a for a in definitions.get(name, []) if not isinstance(args, dict) or a not in args]
    return name, args, ("missing_required_argument" if missing else None)


def error_type(body: str) -> str | None:
    text = body.strip(WS)
    try:
        envelope = json.loads(text)
    except json.JSONDecodeError:
        envelope = text
    if isinstance(envelope, dict):
        content = envelope.get("content", envelope) if "content" in envelope else envelope
    else:
        content = envelope
    if isinstance(content, str):
        try:
            decoded = json.loads(content)
            if isinstance(decoded, dict):
                content = decoded
        except json.JSONDecodeError:
            pass
    if isinstance(content, dict):
        error, exit_code = content.get("error"), content.get("exit_code")
        if content.get("success") is False:
            return "tool_failure"
        if (isinstance(error, str) and error.strip(WS)) or (isinstance(error, (list, dict)) and error) or error is True:
            return "tool_failure"
        if isinstance(exit_code, int) and not isinstance(exit_code, bool):
            return "nonzero_exit" if exit_code != 0 else None
    flat = content if isinstance(content, str) else json.dumps(content)
    return "exception" if TRACEBACK in flat else None


def summarise(row: dict) -> dict:
    """The fct_conversations figures for one dataset row."""
    definitions = tool_definitions(row.get("tools"))
    turns = row["conversations"]
    roles = [ROLES.get(t["from"], "other") for t in turns]
    calls: list[dict] = []
    n_responses = n_errors = n_thoughts = n_empty = 0
    widths = [0]
    last_assistant_answers = False
    for index, (turn, role) in enumerate(zip(turns, roles, strict=True)):
        text = turn["value"]
        if role == "assistant":
            thoughts = blocks(text, "think")
            n_thoughts += len(thoughts)
            n_empty += sum(1 for body, _ in thoughts if body.strip(WS) == "")
            turn_calls = blocks(THINK_BLOCK.sub("", text), "tool_call")
            widths.append(len(turn_calls))
            for body, closed in turn_calls:
                name, args, issue = parse_call(body, closed, definitions)
                signature = (name or "", body.strip(WS) if args is None else json.dumps(args, separators=(",", ":"), ensure_ascii=False))
                calls.append({"message_index": index, "name": name, "issue": issue, "signature": signature})
            outside = re.sub(r"<tool_call>.*?(?:</tool_call>|$)", "", THINK_BLOCK.sub("", text), flags=re.S)
            last_assistant_answers = not turn_calls and outside.strip(WS) != ""
        elif role == "tool":
            for body, _ in blocks(text, "tool_response"):
                n_responses += 1
                n_errors += error_type(body) is not None
    signatures = [c["signature"] for c in calls]
    stuck = any(signatures[i] == signatures[i - 1] == signatures[i - 2] for i in range(2, len(signatures)))
    return {
        "n_messages": len(turns),
        "n_tool_calls": len(calls),
        "n_valid_tool_calls": sum(1 for c in calls if c["issue"] is None),
        "n_malformed_calls": sum(1 for c in calls if c["issue"] is not None),
        "n_tool_responses": n_responses,
        "n_tool_errors": n_errors,
        "n_thoughts": n_thoughts,
        "n_empty_thoughts": n_empty,
        "max_parallel_width": max(widths),
        "n_distinct_tools": len({c["name"] for c in calls if c["name"]}),
        "last_role": roles[-1],
        "first_user_message": next((t["value"] for t, r in zip(turns, roles, strict=True) if r == "user"), None),
        "hit_iteration_limit": any(
            r == "user" and i > 1 and ITERATION_LIMIT.search(t["value"]) for i, (t, r) in enumerate(zip(turns, roles, strict=True))
        ),
        "has_stuck_loop": stuck,
        "has_final_answer": roles[-1] == "assistant" and last_assistant_answers,
        "parse_issues": sorted(c["issue"] for c in calls if c["issue"]),
    }
