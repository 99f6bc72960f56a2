"""The generator's Hermes rows written in the other shapes (``traces sample --shape NAME``), each with
the quirks real datasets of that shape have (trace-shapes notes; docs/sources.md), so that the
ingest of every shape is tested on the sample's content: the same calls, responses, errors,
thoughts and parallel width come back whichever shape carried them.

A turn is rewritten only where the Hermes text says exactly what the shape can: an assistant turn
whose thoughts and calls are all well formed, a tool turn whose responses are all JSON envelopes.
Any other turn (an unclosed tag, invalid JSON in a call) keeps its Hermes text as the message's
content, which the ingest reads as it reads a Hermes row: the malformed call stays malformed.

Which quirk a row gets is decided by its position, so a given seed always writes the same rows.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

SHAPES = ("hermes", "openai", "sharegpt", "anthropic")
_BLOCK = re.compile(r"<(think|tool_call)>(.*?)</\1>", re.S)
_RESPONSE = re.compile(r"<tool_response>(.*?)</tool_response>", re.S)


@dataclass
class AssistantParts:
    thoughts: list[str]
    text: str
    calls: list[dict]  # {"name", "arguments", "id"?}


def assistant_parts(value: str) -> AssistantParts | None:
    """The turn's thoughts, text and calls, or None when the text is not only well-formed blocks
    around text (then it is kept as written)."""
    if value.count("<think>") != value.count("</think>") or value.count("<tool_call>") != value.count("</tool_call>"):
        return None
    thoughts: list[str] = []
    calls: list[dict] = []
    pieces: list[str] = []
    last = 0
    for match in _BLOCK.finditer(value):
        pieces.append(value[last:match.start()])
        last = match.end()
        tag, body = match.group(1), match.group(2)
        if tag == "think":
            if calls or "<think>" in body or "<tool_call>" in body:
                return None
            thoughts.append(body)
            continue
        try:
            call = json.loads(body)
        except json.JSONDecodeError:
            return None
        if not isinstance(call, dict) or set(call) - {"name", "arguments"} or not isinstance(call.get("name"), str):
            return None
        if not isinstance(call.get("arguments"), dict):
            return None
        calls.append(call)
    pieces.append(value[last:])
    text = "".join(pieces)
    if "<think>" in text or "<tool_call>" in text or "</" in text:
        return None
    if calls and text.strip() and any(p.strip() for p in pieces[len(thoughts) + 1:]):
        return None  # text between or after the calls: keep the order as written
    return AssistantParts(thoughts, text.strip() if calls else text, calls)


def tool_results(value: str) -> list[dict] | None:
    """The turn's response envelopes ({tool_call_id?, name?, content}), or None to keep it as written."""
    bodies = _RESPONSE.findall(value)
    if not bodies or value.count("<tool_response>") != len(bodies) or _RESPONSE.sub("", value).strip():
        return None
    results = []
    for body in bodies:
        try:
            envelope = json.loads(body)
        except json.JSONDecodeError:
            return None
        if not isinstance(envelope, dict) or "content" not in envelope or set(envelope) - {"tool_call_id", "name", "content"}:
            return None
        results.append(envelope)
    return results


def _content_text(content: Any) -> str:
    return content if isinstance(content, str) else json.dumps(content, ensure_ascii=False)


def _is_failure(content: Any) -> bool:
    """A response the content rules call a tool failure (success false, or a non-empty error)."""
    if isinstance(content, str):
        try:
            content = json.loads(content)
        except json.JSONDecodeError:
            return False
    if not isinstance(content, dict):
        return False
    error = content.get("error")
    return content.get("success") is False or (isinstance(error, str) and error.strip() != "") or error is True


def _function_tools(tools_text: str | None) -> list | None:
    try:
        tools = json.loads(tools_text) if tools_text else None
    except json.JSONDecodeError:
        return None
    return tools if isinstance(tools, list) else None


def _call_ids(position: int, turn: int, calls: list[dict]) -> list[str]:
    return [f"call_{position}_{turn}_{k}" for k in range(len(calls))]


# --- OpenAI -------------------------------------------------------------------------------------

def to_openai(row: dict, position: int) -> dict:
    """Quirks by position: ids on calls and results in three rows of four (none in the fourth, as
    nvidia's tool_calling rows); arguments as JSON text or (every third row) an object; reasoning in
    reasoning_content, reasoning or a <think> inside content; content as text or a list of parts;
    every fifth row's messages and tools as JSON strings under `uuid` (as Toucan); every seventh row
    with ids has one result whose id answers no call (an orphan)."""
    with_ids = position % 4 != 3
    reasoning_key = ("reasoning_content", "reasoning", None)[position % 3]
    messages: list[dict] = []
    open_ids: list[str] = []
    for turn, message in enumerate(row["conversations"]):
        role, value = message["from"], message["value"]
        if role == "system":
            messages.append({"role": "system", "content": value})
        elif role in ("human", "user"):
            content: Any = value if position % 2 else [{"type": "text", "text": value}]
            messages.append({"role": "user", "content": content})
        elif role in ("gpt", "assistant"):
            messages.append(_openai_assistant(value, position, turn, with_ids, reasoning_key, open_ids))
        elif role == "tool":
            orphan = with_ids and position % 7 == 6 and not any(m["role"] == "tool" for m in messages)
            messages.extend(_openai_tool(value, position, turn, with_ids, open_ids, orphan))
        else:
            messages.append({"role": role, "content": value})
    tools = _function_tools(row.get("tools"))
    out: dict[str, Any] = {"messages": messages}
    if tools is not None:
        out["tools"] = tools
    elif row.get("tools") is not None:
        out["tools"] = row["tools"]  # text that does not parse, as given
    if position % 5 == 4:
        out = {"uuid": row["id"], "messages": json.dumps(messages, ensure_ascii=False)}
        if "tools" in row:
            out["available_tools"] = json.dumps(tools, ensure_ascii=False) if tools is not None else row["tools"]
    else:
        out = {"id": row["id"], **out}
    return {**out, **{k: row[k] for k in ("category", "subcategory", "task") if k in row}}


def _openai_assistant(value: str, position: int, turn: int, with_ids: bool, reasoning_key: str | None, open_ids: list[str]) -> dict:
    parts = assistant_parts(value)
    open_ids.clear()
    if parts is None:
        return {"role": "assistant", "content": value}
    message: dict[str, Any] = {"role": "assistant"}
    content = parts.text
    if len(parts.thoughts) > 1 or (parts.thoughts and reasoning_key is None):
        # Reasoning inside the content, as some sets write it (and several thoughts stay several).
        content = "".join(f"<think>{thought}</think>" for thought in parts.thoughts) + content
    elif parts.thoughts:
        message[reasoning_key or "reasoning_content"] = parts.thoughts[0]
    message["content"] = content if content or not parts.calls else None
    if parts.calls:
        ids = _call_ids(position, turn, parts.calls)
        open_ids.extend(ids if with_ids else [])
        message["tool_calls"] = [
            {
                **({"id": ids[k]} if with_ids else {}),
                "type": "function",
                "function": {
                    "name": call["name"],
                    "arguments": call["arguments"] if position % 3 == 2 else json.dumps(call["arguments"], ensure_ascii=False),
                },
            }
            for k, call in enumerate(parts.calls)
        ]
    return message


def _openai_tool(value: str, position: int, turn: int, with_ids: bool, open_ids: list[str], orphan: bool) -> list[dict]:
    results = tool_results(value)
    if results is None:
        return [{"role": "tool", "content": value}]
    messages = []
    for k, result in enumerate(results):
        message: dict[str, Any] = {"role": "tool", "content": _content_text(result["content"])}
        if with_ids and k < len(open_ids):
            message["tool_call_id"] = open_ids[k]
        elif with_ids:
            message["tool_call_id"] = result.get("tool_call_id") or f"call_{position}_{turn}_orphan_{k}"
        if result.get("name"):
            message["name"] = result["name"]
        messages.append(message)
    if orphan:
        messages.append({"role": "tool", "tool_call_id": f"call_{position}_{turn}_nobody", "content": "a result no call asked for"})
    return messages


# --- ShareGPT with function calls ---------------------------------------------------------------

def to_sharegpt(row: dict, position: int) -> dict:
    """LLaMA-Factory's layout: `system` and `tools` columns, turns human / gpt / function_call /
    observation; a function_call value is one call object or a list of them (parallel calls), the
    thoughts first as `<think>…</think>`; several results of a tool turn in one observation."""
    turns = list(row["conversations"])
    system = ""
    if turns and turns[0]["from"] == "system":
        system, turns = turns[0]["value"], turns[1:]
    out_turns = []
    for turn in turns:
        role, value = turn["from"], turn["value"]
        if role == "gpt":
            parts = assistant_parts(value)
            if parts is None or not parts.calls or parts.text.strip():
                # No calls, or text beside them, which a function_call turn has no room for: as written.
                out_turns.append({"from": "gpt", "value": value})
                continue
            calls = parts.calls[0] if len(parts.calls) == 1 else parts.calls
            thoughts = "".join(f"<think>{thought}</think>" for thought in parts.thoughts)
            out_turns.append({"from": "function_call", "value": thoughts + json.dumps(calls, ensure_ascii=False)})
        elif role == "tool":
            results = tool_results(value)
            texts = [_content_text(r["content"]) for r in results] if results is not None else [value]
            out_turns.append({"from": "observation", "value": "\n</tool_response>\n<tool_response>\n".join(texts)})
        else:
            out_turns.append({"from": role, "value": value})
    return {"id": row["id"], "conversations": out_turns, "system": system, "tools": row.get("tools") or "",
            **{k: row[k] for k in ("category", "subcategory", "task") if k in row}}


# --- Anthropic ----------------------------------------------------------------------------------

def to_anthropic(row: dict, position: int) -> dict:
    """Claude's Messages API: `system` as text (every other row as text blocks), thinking blocks with
    a signature (every sixth row's first one redacted), tool_use / tool_result blocks with ids and
    is_error where the result says it failed, tools with input_schema."""
    turns = list(row["conversations"])
    system: Any = None
    if turns and turns[0]["from"] == "system":
        system = turns[0]["value"] if position % 2 else [{"type": "text", "text": turns[0]["value"]}]
        turns = turns[1:]
    messages: list[dict] = []
    open_ids: list[str] = []
    redact = position % 6 == 5
    for turn_number, turn in enumerate(turns):
        role, value = turn["from"], turn["value"]
        if role in ("gpt", "assistant"):
            parts = assistant_parts(value)
            open_ids = []
            if parts is None or (redact and not parts.thoughts):
                messages.append({"role": "assistant", "content": [{"type": "text", "text": value}]})
                continue
            blocks: list[dict] = []
            for thought in parts.thoughts:
                if redact:
                    blocks.append({"type": "redacted_thinking", "data": "EuYBCkQYAiJA" + str(position)})
                    redact = False
                else:
                    blocks.append({"type": "thinking", "thinking": thought, "signature": "sig-" + str(position)})
            if parts.text:
                blocks.append({"type": "text", "text": parts.text})
            ids = _call_ids(position, turn_number, parts.calls)
            open_ids = ids
            blocks += [{"type": "tool_use", "id": i, "name": c["name"], "input": c["arguments"]} for i, c in zip(ids, parts.calls, strict=True)]
            messages.append({"role": "assistant", "content": blocks})
        elif role == "tool":
            results = tool_results(value)
            if results is None:
                messages.append({"role": "user", "content": [{"type": "tool_result", "tool_use_id": "unpaired", "content": value}]})
                continue
            blocks = []
            for k, result in enumerate(results):
                block: dict[str, Any] = {
                    "type": "tool_result", "tool_use_id": open_ids[k] if k < len(open_ids) else f"toolu_orphan_{position}_{k}",
                    "content": _content_text(result["content"]),
                }
                if _is_failure(result["content"]):
                    block["is_error"] = True
                blocks.append(block)
            messages.append({"role": "user", "content": blocks})
        else:
            messages.append({"role": "user", "content": value})
    tools = _function_tools(row.get("tools"))
    out: dict[str, Any] = {"id": row["id"], "messages": messages}
    if system is not None:
        out["system"] = system
    if tools is not None:
        out["tools"] = [
            {"name": t["function"]["name"], "description": t["function"].get("description", ""),
             "input_schema": t["function"].get("parameters", {})}
            if isinstance(t, dict) and isinstance(t.get("function"), dict) else t
            for t in tools
        ]
    elif row.get("tools") is not None:
        out["tools"] = row["tools"]  # text that does not parse, as given
    return {**out, **{k: row[k] for k in ("category", "subcategory", "task") if k in row}}


WRITERS = {"openai": to_openai, "sharegpt": to_sharegpt, "anthropic": to_anthropic}


def in_shape(row: dict, shape: str, position: int) -> dict:
    """The Hermes ``row`` (the ``position``-th written) in ``shape``."""
    if shape == "hermes":
        return row
    return WRITERS[shape](row, position)
