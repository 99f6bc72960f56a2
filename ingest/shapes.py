"""The shapes agent traces come in, and how a row of each becomes the warehouse's turns.

The warehouse stores one kind of turn, the Hermes shape's: ``{from, value}`` with ``<think>``,
``<tool_call>{json}</tool_call>`` and ``<tool_response>{json}</tool_response>`` in the text, which
the dbt models parse (docs/parsing.md). A Hermes row is stored as given. A row of another shape is
written in those turns here, at ingest, where the whole conversation is at hand: an OpenAI row's
tool messages answering one assistant turn become one tool turn, ordered as the calls they answer;
a call's id and a result's ``is_error`` go into the call's and the response's JSON, where the models
read them (fct_tool_calls.tool_call_id, fct_tool_responses.error_type = 'is_error'). What cannot
be said in turns is flagged on the row (``ingest_flags``). docs/sources.md has the mapping.

Detection (``detect_row``): a row's messages are its ``conversations``, ``messages`` or
``trajectory`` (a list, or a JSON string of one). Turns with ``from`` are ShareGPT: ``sharegpt`` when
a turn is ``function_call``/``observation`` or the row has a ``system`` column, else ``hermes``.
Messages with ``role`` are ``anthropic`` when a content block is ``tool_use``, ``tool_result``,
``thinking`` or ``redacted_thinking``, else ``openai``. An input's shape is its first row's that fits
one (or ``--shape``); a row of another shape is rejected, saying which was expected.

A row that cannot be written in turns raises ``ShapeError`` with the turn and field at fault.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from foundation.errors import SourceError

SHAPES = ("hermes", "openai", "sharegpt", "anthropic")
MESSAGE_FIELDS = ("conversations", "messages", "trajectory")
TOOLS_FIELDS = ("tools", "available_tools", "tools_json")
ID_FIELDS = ("id", "uuid", "conversation_id")
CARRIED_FIELDS = ("category", "subcategory", "task")
REASONING_FIELDS = ("reasoning_content", "reasoning", "thinking")
ANTHROPIC_BLOCKS = frozenset({"tool_use", "tool_result", "thinking", "redacted_thinking"})
# LLaMA-Factory's sharegpt defaults (its dataset_info.json may rename each).
SHAREGPT_TAGS = {
    "role_tag": "from", "content_tag": "value", "user_tag": "human", "assistant_tag": "gpt",
    "observation_tag": "observation", "function_tag": "function_call", "system_tag": "system",
}
SHAREGPT_COLUMNS = {"messages": "conversations", "system": "system", "tools": "tools"}
# How LLaMA-Factory's OpenAI converter joins several results of one tool turn (and our export does).
RESULTS_SEPARATOR = "\n</tool_response>\n<tool_response>\n"


class ShapeError(ValueError):
    """A row that cannot be written in the warehouse's turns; the message names the turn and field."""


@dataclass
class Converted:
    """A row in the Hermes shape's fields, and what its conversion could only flag."""

    row: dict[str, Any]
    flags: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class ShareGptLayout:
    """The tags and columns of a ShareGPT file (dataset_info.json's, else LLaMA-Factory's defaults)."""

    tags: dict[str, str] = field(default_factory=lambda: dict(SHAREGPT_TAGS))
    columns: dict[str, str] = field(default_factory=lambda: dict(SHAREGPT_COLUMNS))


def _json_kind(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "a list"
    return "an object"


def _decoded(value: object, where: str) -> object:
    """A column that may hold JSON as a string (Toucan's `messages`, `available_tools`)."""
    if isinstance(value, str):
        try:
            return json.loads(value)
        except json.JSONDecodeError as exc:
            raise ShapeError(f"{where}: a JSON string that does not parse ({exc.msg} at {exc.pos})") from None
    return value


def messages_field(row: dict) -> str | None:
    return next((name for name in MESSAGE_FIELDS if row.get(name) is not None), None)


def detect_row(row: object) -> str | None:
    """The row's shape, or None when it fits none (see the module's rule)."""
    if not isinstance(row, dict):
        return None
    name = messages_field(row)
    if name is None:
        return None
    try:
        messages = _decoded(row[name], name)
    except ShapeError:
        return None
    if not isinstance(messages, list):
        return None
    turns = [m for m in messages if isinstance(m, dict)]
    if any("from" in t for t in turns) and not any("role" in t for t in turns):
        tags = {t.get("from") for t in turns}
        return "sharegpt" if {"function_call", "observation"} & tags or "system" in row else "hermes"
    if any("role" in t for t in turns):
        for turn in turns:
            content = turn.get("content")
            if isinstance(content, list) and any(isinstance(b, dict) and b.get("type") in ANTHROPIC_BLOCKS for b in content):
                return "anthropic"
        return "openai"
    return None


def detect(rows: Iterable[object]) -> str | None:
    """The shape of the first row that fits one."""
    return next((shape for shape in map(detect_row, rows) if shape is not None), None)


def check_shape(name: str) -> str:
    if name not in SHAPES:
        raise SourceError(f"unknown shape {name!r}: choose one of {', '.join(SHAPES)}")
    return name


# --- the parts every shape shares ----------------------------------------------------------------

def _text(content: object, where: str, flags: list[str]) -> str:
    """A message's text: a string, null, or a list of `{type: "text", text}` parts (a part of
    another type is kept as its JSON and flagged)."""
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        pieces = []
        for k, part in enumerate(content):
            if isinstance(part, str):
                pieces.append(part)
            elif isinstance(part, dict) and part.get("type") in ("text", "input_text", "output_text") and isinstance(part.get("text"), str):
                pieces.append(part["text"])
            elif isinstance(part, dict):
                flags.append(f"content_part:{part.get('type', 'untyped')}")
                pieces.append(json.dumps(part, ensure_ascii=False))
            else:
                raise ShapeError(f"{where}[{k}] is {_json_kind(part)}, not a content part")
        return "".join(pieces)
    raise ShapeError(f"{where} is {_json_kind(content)}, not text or a list of parts")


def _think(text: str) -> str:
    """A thought as the text it was given (no whitespace added: an export gives it back as it came)."""
    return f"<think>{text}</think>"


def _call_block(name: object, arguments: object, call_id: object, where: str) -> str:
    """One `<tool_call>`: arguments given as an object, or as text (JSON text is decoded by the
    models; text that does not parse is written as it is, so the call reads as malformed)."""
    if arguments is not None and not isinstance(arguments, (str, dict)):
        raise ShapeError(f"{where}.arguments is {_json_kind(arguments)}, not text or an object")
    call: dict[str, Any] = {}
    if name is not None:
        call["name"] = name
    broken = None
    if isinstance(arguments, str):
        try:
            json.loads(arguments)
            call["arguments"] = arguments
        except json.JSONDecodeError:
            broken = arguments
    elif arguments is not None:
        call["arguments"] = arguments
    if call_id is not None:
        call["id"] = call_id
    if broken is None:
        body = json.dumps(call, ensure_ascii=False)
    else:  # the text as the model wrote it: invalid JSON in a call, as in the Hermes rows
        head = json.dumps({k: v for k, v in call.items() if k != "id"}, ensure_ascii=False)[:-1]
        body = (head + ", " if len(head) > 1 else "{") + '"arguments": ' + broken + "}"
    return f"<tool_call>\n{body}\n</tool_call>"


def _response_block(content: str, call_id: object = None, name: object = None, is_error: object = None) -> str:
    if "<tool_response>" in content:
        return content  # already the Hermes text (a Hermes turn carried in another shape): as written
    envelope: dict[str, Any] = {}
    if call_id is not None:
        envelope["tool_call_id"] = call_id
    if name is not None:
        envelope["name"] = name
    envelope["content"] = content
    if is_error is not None:
        envelope["is_error"] = bool(is_error)
    return "<tool_response>\n" + json.dumps(envelope, ensure_ascii=False) + "\n</tool_response>"


def _function_tool(tool: object, where: str) -> dict:
    """A tool definition in OpenAI's function form, from that form, the bare one or Anthropic's."""
    if not isinstance(tool, dict):
        raise ShapeError(f"{where} is {_json_kind(tool)}, not a tool definition")
    if tool.get("type") == "function" and isinstance(tool.get("function"), dict):
        return tool
    function = {k: v for k, v in tool.items() if k not in ("input_schema", "type")}
    if "input_schema" in tool:
        function["parameters"] = tool["input_schema"]
    return {"type": "function", "function": function}


def _tools_text(row: dict, column: str | None = None) -> str | None:
    """The row's tool definitions as JSON text in function form; text that does not parse is kept
    as it is (the models flag it, as they do a Hermes row's)."""
    name = column if column and column in row else next((n for n in TOOLS_FIELDS if n in row), None)
    if name is None or row[name] is None:
        return None
    tools = row[name]
    if isinstance(tools, str):
        if tools.strip() in ("", "[]"):
            return "[]"
        try:
            tools = json.loads(tools)
        except json.JSONDecodeError:
            return row[name]
    if not isinstance(tools, list):
        raise ShapeError(f"{name} is {_json_kind(tools)}, not a list of tool definitions")
    return json.dumps([_function_tool(t, f"{name}[{k}]") for k, t in enumerate(tools)], ensure_ascii=False)


def _row_id(row: dict, fallback: str) -> str:
    for name in ID_FIELDS:
        value = row.get(name)
        if isinstance(value, (str, int)) and not isinstance(value, bool) and str(value) != "":
            return str(value)
    return fallback


def _hermes_row(row: dict, turns: list[dict], tools: str | None, fallback_id: str, consumed: set[str]) -> dict:
    """The Hermes fields, and the source row's other columns as they are (the ingest flags them)."""
    out: dict[str, Any] = {"id": _row_id(row, fallback_id), "conversations": turns}
    if tools is not None:
        out["tools"] = tools
    for name in CARRIED_FIELDS:
        if isinstance(row.get(name), str):
            out[name] = row[name]
    skipped = consumed | set(ID_FIELDS) | set(CARRIED_FIELDS)
    out.update({k: v for k, v in row.items() if k not in skipped and k not in out})
    return out


def _order_by_calls(results: list[tuple[object, str]], call_ids: list[object]) -> list[str]:
    """Results answering a call, in the order of the calls; the others after, as they came."""
    position = {cid: k for k, cid in enumerate(call_ids) if cid is not None}
    keyed = [(position.get(cid, len(call_ids)), n, block) for n, (cid, block) in enumerate(results)]
    return [block for *_, block in sorted(keyed)]


def _message_list(row: dict, name: str) -> list:
    """The row's messages from column ``name``: a list, or a JSON string of one."""
    messages = _decoded(row.get(name), name)
    if not isinstance(messages, list):
        raise ShapeError(f"{name} is {_json_kind(messages)}, not a list of messages")
    return messages


# --- OpenAI messages ----------------------------------------------------------------------------

def from_openai(row: dict, fallback_id: str) -> Converted:
    flags: list[str] = ["shape:openai"]
    name = messages_field(row) or "messages"
    messages = _message_list(row, name)
    turns: list[dict] = []
    results: list[tuple[object, str]] = []
    call_ids: list[object] = []
    ids_missing = False

    def close_results() -> None:
        if results:
            turns.append({"from": "tool", "value": "\n".join(_order_by_calls(results, call_ids))})
            results.clear()

    for i, message in enumerate(messages):
        where = f"turn {i}"
        if not isinstance(message, dict):
            raise ShapeError(f"{where} is {_json_kind(message)}, not a message")
        role = message.get("role")
        if role in ("tool", "function"):
            content = _text(message.get("content"), f"{where}.content", flags)
            call_id = message.get("tool_call_id")
            ids_missing |= call_id is None
            results.append((call_id, _response_block(content, call_id, message.get("name"))))
            continue
        close_results()
        if role in ("system", "developer"):
            turns.append({"from": "system", "value": _text(message.get("content"), f"{where}.content", flags)})
        elif role == "user":
            turns.append({"from": "human", "value": _text(message.get("content"), f"{where}.content", flags)})
        elif role == "assistant":
            value, call_ids = _openai_assistant(message, where, flags)
            ids_missing |= any(cid is None for cid in call_ids)
            turns.append({"from": "gpt", "value": value})
        else:
            raise ShapeError(f'{where}.role is {json.dumps(role)}: expected system, developer, user, assistant or tool')
    close_results()
    if ids_missing:
        flags.append("paired_by_position")
    return Converted(_hermes_row(row, turns, _tools_text(row), fallback_id, {name, *TOOLS_FIELDS}), sorted(set(flags)))


def _openai_assistant(message: dict, where: str, flags: list[str]) -> tuple[str, list[object]]:
    reasoning = next((message[k] for k in REASONING_FIELDS if message.get(k) is not None), None)
    if reasoning is not None and not isinstance(reasoning, str):
        reasoning = _text(reasoning, f"{where}.reasoning", flags)
    value = _think(reasoning) if reasoning is not None else ""
    value += _text(message.get("content"), f"{where}.content", flags)
    calls = message.get("tool_calls") or []
    if not isinstance(calls, list):
        raise ShapeError(f"{where}.tool_calls is {_json_kind(calls)}, not a list")
    blocks, call_ids = [], []
    for k, call in enumerate(calls):
        if not isinstance(call, dict):
            raise ShapeError(f"{where}.tool_calls[{k}] is {_json_kind(call)}, not a call")
        function: dict = call["function"] if isinstance(call.get("function"), dict) else call
        blocks.append(_call_block(function.get("name"), function.get("arguments"), call.get("id"), f"{where}.tool_calls[{k}].function"))
        call_ids.append(call.get("id"))
    legacy = message.get("function_call")
    if isinstance(legacy, dict):
        blocks.append(_call_block(legacy.get("name"), legacy.get("arguments"), None, f"{where}.function_call"))
        call_ids.append(None)
    if blocks:
        value += ("\n" if value else "") + "\n".join(blocks)
    return value, call_ids


# --- Anthropic content blocks -------------------------------------------------------------------

def from_anthropic(row: dict, fallback_id: str) -> Converted:
    flags: list[str] = ["shape:anthropic"]
    name = messages_field(row) or "messages"
    messages = _message_list(row, name)
    turns: list[dict] = []
    if row.get("system"):  # a string, or a list of text blocks
        turns.append({"from": "system", "value": _text(row["system"], "system", flags)})
    call_ids: list[object] = []
    for i, message in enumerate(messages):
        where = f"turn {i}"
        if not isinstance(message, dict):
            raise ShapeError(f"{where} is {_json_kind(message)}, not a message")
        role, content = message.get("role"), message.get("content")
        blocks = content if isinstance(content, list) else [{"type": "text", "text": _text(content, f"{where}.content", flags)}]
        if role == "user":
            results = [(k, b) for k, b in enumerate(blocks) if isinstance(b, dict) and b.get("type") == "tool_result"]
            others = [b for b in blocks if not (isinstance(b, dict) and b.get("type") == "tool_result")]
            if results:
                rendered = []
                for k, block in results:
                    text = _text(block.get("content"), f"{where}.content[{k}].content", flags)
                    rendered.append((block.get("tool_use_id"), _response_block(text, block.get("tool_use_id"), None, block.get("is_error"))))
                turns.append({"from": "tool", "value": "\n".join(_order_by_calls(rendered, call_ids))})
            if others:
                turns.append({"from": "human", "value": _text(others, f"{where}.content", flags)})
        elif role == "assistant":
            value, call_ids = _anthropic_assistant(blocks, where, flags)
            turns.append({"from": "gpt", "value": value})
        elif role == "system":
            turns.append({"from": "system", "value": _text(content, f"{where}.content", flags)})
        else:
            raise ShapeError(f"{where}.role is {json.dumps(role)}: expected user or assistant")
    return Converted(_hermes_row(row, turns, _tools_text(row), fallback_id, {name, "system", *TOOLS_FIELDS}), sorted(set(flags)))


def _anthropic_assistant(blocks: list, where: str, flags: list[str]) -> tuple[str, list[object]]:
    pieces: list[str] = []
    call_ids: list[object] = []
    for k, block in enumerate(blocks):
        at = f"{where}.content[{k}]"
        if not isinstance(block, dict):
            raise ShapeError(f"{at} is {_json_kind(block)}, not a content block")
        kind = block.get("type")
        if kind == "thinking":
            pieces.append(_think(block.get("thinking") or ""))
        elif kind == "redacted_thinking":
            # Its text is encrypted: kept as an empty thought, the row flagged.
            flags.append("redacted_thinking")
            pieces.append(_think(""))
        elif kind == "tool_use":
            pieces.append(("\n" if pieces else "") + _call_block(block.get("name"), block.get("input"), block.get("id"), at + ".input"))
            call_ids.append(block.get("id"))
        else:
            pieces.append(_text([block], at, flags))
    return "".join(pieces), call_ids


# --- ShareGPT with function calls ---------------------------------------------------------------

def _function_call_value(value: str, where: str) -> str:
    """A function_call turn's value as the assistant text: the thought and text before the calls
    as they are, each call a `<tool_call>`. The calls are JSON, one `{name, arguments}` or a list,
    alone or inside `<tool_call>…</tool_call>`; text that is neither is kept as one malformed call."""
    head, body, tail = "", value, ""
    if "<tool_call>" in value:
        head, _, rest = value.partition("<tool_call>")
        body, closed, tail = rest.partition("</tool_call>")
        if not closed:
            return value  # an unclosed tag: the models read the call as malformed, as in a Hermes row
    elif "</think>" in value:
        thought, _, body = value.rpartition("</think>")
        head = thought + "</think>"
    try:
        calls = json.loads(body)
    except json.JSONDecodeError:
        return head + f"<tool_call>\n{body.strip()}\n</tool_call>" + tail
    calls = calls if isinstance(calls, list) else [calls]
    blocks = []
    for k, call in enumerate(calls):
        if not isinstance(call, dict):
            raise ShapeError(f"{where}[{k}] is {_json_kind(call)}, not a call")
        blocks.append(_call_block(call.get("name"), call.get("arguments"), call.get("id"), f"{where}[{k}]"))
    return (head.rstrip("\n") + "\n" if head.strip() else head.strip()) + "\n".join(blocks) + tail


def from_sharegpt(row: dict, fallback_id: str, layout: ShareGptLayout | None = None) -> Converted:
    layout = layout or ShareGptLayout()
    tags, columns = layout.tags, layout.columns
    flags: list[str] = ["shape:sharegpt", "paired_by_position"]
    name = columns.get("messages") or "conversations"
    messages = _message_list(row, name)
    turns: list[dict] = []
    system = row.get(columns.get("system") or "system")
    if isinstance(system, str) and system:
        turns.append({"from": "system", "value": system})
    role_of = {
        tags["user_tag"]: "human", tags["assistant_tag"]: "gpt", tags["function_tag"]: "function_call",
        tags["observation_tag"]: "tool", tags["system_tag"]: "system",
        # The Hermes names read the same wherever a file mixes them in.
        "human": "human", "gpt": "gpt", "tool": "tool", "user": "human", "assistant": "gpt",
    }
    for i, turn in enumerate(messages):
        where = f"turn {i}"
        if not isinstance(turn, dict):
            raise ShapeError(f"{where} is {_json_kind(turn)}, not a turn")
        tag, value = turn.get(tags["role_tag"]), turn.get(tags["content_tag"])
        if not isinstance(value, str):
            raise ShapeError(f"{where}.{tags['content_tag']} is {_json_kind(value)}, not text")
        role = role_of.get(tag) if isinstance(tag, str) else None
        if role is None:
            raise ShapeError(f"{where}.{tags['role_tag']} is {json.dumps(tag)}: expected one of {', '.join(sorted(role_of))}")
        if role == "function_call":
            turns.append({"from": "gpt", "value": _function_call_value(value, f"{where}.{tags['content_tag']}")})
        elif role == "tool":
            results = value.split(RESULTS_SEPARATOR)
            turns.append({"from": "tool", "value": "\n".join(_response_block(text) for text in results)})
        else:
            turns.append({"from": role, "value": value})
    tools = _tools_text(row, columns.get("tools") or "tools")
    consumed = {name, columns.get("system") or "system", columns.get("tools") or "tools"}
    return Converted(_hermes_row(row, turns, tools, fallback_id, consumed), sorted(set(flags)))


def to_hermes(row: object, shape: str, fallback_id: str, layout: ShareGptLayout | None = None) -> Converted:
    """``row`` of ``shape`` in the Hermes shape's fields; ``ShapeError`` says why it cannot be."""
    if not isinstance(row, dict):
        raise ShapeError(f"expected a JSON object, got {_json_kind(row)}")
    name = messages_field(row)
    if name is not None:
        _decoded(row[name], name)  # a JSON string that does not parse says so, before any shape is told
    found = detect_row(row)
    if found != shape:
        what = f"a row of the {found} shape" if found else "a row of no known shape (no conversations, messages or trajectory list)"
        raise ShapeError(f"{what} in an input of the {shape} shape (an input's shape is its first row's; --shape chooses it)")
    if shape == "openai":
        return from_openai(row, fallback_id)
    if shape == "anthropic":
        return from_anthropic(row, fallback_id)
    if shape == "sharegpt":
        return from_sharegpt(row, fallback_id, layout)
    return Converted(row, [])
