"""Each exported row measured as its trainer will see it: rendered with the chat template, then
counted with the target model's tokenizer.

``RowMeasurer.measure(lines)`` takes exported JSON lines and returns, per line, its total and
trainable (assistant) tokens, its thoughts and how many of them the render kept, and the
template's error message when it could not render the row (spool.py on DuckDB, the executors
on Spark).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

import pyarrow as pa

from reports.exports.formats import ExportFormat
from reports.exports.templates import ChatTemplate
from reports.exports.tokens import Tokenizer

THINK = re.compile(r"<think>(.*?)</think>", re.S)
SHAREGPT_ROLES = {"human": "user", "gpt": "assistant", "function_call": "assistant", "tool": "tool", "system": "system"}
RESULT_TYPE = pa.struct(
    [
        ("total_tokens", pa.int64()),
        ("trainable_tokens", pa.int64()),
        ("thoughts", pa.int32()),
        ("thoughts_kept", pa.int32()),
        ("render_error", pa.string()),
    ]
)
_ERROR_CHARS = 300


@dataclass
class Rendered:
    """A row's text cut into segments, each marked trained or not, and its thoughts."""

    segments: list[tuple[str, bool]]
    thoughts: int
    thoughts_kept: int


def _thoughts_of_messages(messages: list[dict[str, Any]]) -> list[str]:
    found = []
    for message in messages:
        if message.get("role") != "assistant":
            continue
        reasoning = message.get("reasoning_content")
        if isinstance(reasoning, str) and reasoning.strip():
            found.append(reasoning.strip())
        elif isinstance(message.get("content"), str):
            found.extend(t.strip() for t in THINK.findall(message["content"]) if t.strip())
    return found


def sharegpt_as_messages(record: dict[str, Any]) -> tuple[list[dict[str, Any]], list[dict] | None]:
    """A sharegpt row as chat messages, the way LLaMA-Factory aligns it (system column first)."""
    messages: list[dict[str, Any]] = []
    if record.get("system"):
        messages.append({"role": "system", "content": record["system"]})
    for turn in record["conversations"]:
        messages.append({"role": SHAREGPT_ROLES.get(turn["from"], turn["from"]), "content": turn["value"]})
    tools = json.loads(record["tools"]) if record.get("tools") else None
    return messages, tools


def _segments(text: str, spans: list[tuple[int, int]]) -> list[tuple[str, bool]]:
    segments: list[tuple[str, bool]] = []
    position = 0
    for start, end in spans:
        if start > position:
            segments.append((text[position:start], False))
        segments.append((text[start:end], True))
        position = end
    if position < len(text):
        segments.append((text[position:], False))
    return segments


def _kept(thoughts: list[str], text: str) -> int:
    return sum(1 for thought in thoughts if thought in text)


def render_record(fmt: ExportFormat, template: ChatTemplate | None, record: dict[str, Any]) -> Rendered:
    """What the trainer tokenizes for one exported record, with its trained segments marked."""
    if fmt.chat == "text" or template is None:
        prompt, response = (record["prompt"], record["response"]) if fmt.chat == "text" else (json.dumps(record), "")
        return Rendered([(prompt, False), (response, True)], 0, 0)
    if fmt.chat == "prompt_completion":
        tools = record.get("tools")
        prompt_text, _ = template.render(record["prompt"], tools, add_generation_prompt=True)
        full_text, _ = template.render(record["prompt"] + record["completion"], tools)
        thoughts = _thoughts_of_messages(record["completion"])
        if full_text.startswith(prompt_text):
            segments = [(prompt_text, False), (full_text[len(prompt_text) :], True)]
        else:  # a template that rewrites earlier turns: no trainer can cut the completion off either
            raise ValueError("the prompt does not render as a prefix of prompt + completion")
        return Rendered(segments, len(thoughts), _kept(thoughts, full_text[len(prompt_text) :]))
    if fmt.chat == "sharegpt":
        messages, tools = sharegpt_as_messages(record)
    else:
        messages, tools = record["messages"], record.get("tools")
    text, spans = template.render(messages, tools)
    thoughts = _thoughts_of_messages(messages)
    segments = _segments(text, spans) if template.marks_assistant_spans else [(text, False)]
    return Rendered(segments, len(thoughts), _kept(thoughts, text))


class RowMeasurer:
    """Renders and counts exported lines in batches."""

    def __init__(self, fmt: ExportFormat, tokenizer: Tokenizer, template: ChatTemplate | None) -> None:
        self.fmt = fmt
        self.tokenizer = tokenizer
        self.template = template
        # Without {% generation %} a template does not say what is trained (prompt-response and
        # prompt-completion rows say it themselves).
        self.counts_trainable = fmt.chat in ("text", "prompt_completion") or (
            template is not None and template.marks_assistant_spans
        )

    def measure(self, lines: list[str | None]) -> list[dict[str, Any] | None]:
        rendered: list[Rendered | str | None] = []
        for line in lines:
            if line is None:
                rendered.append(None)
                continue
            try:
                rendered.append(render_record(self.fmt, self.template, json.loads(line)))
            except Exception as exc:  # the template's own error is the row's reason
                rendered.append(f"{type(exc).__name__}: {exc}"[:_ERROR_CHARS])
        pieces = [text for r in rendered if isinstance(r, Rendered) for text, _ in r.segments]
        counts = iter(self.tokenizer.count(pieces))
        results: list[dict[str, Any] | None] = []
        for r in rendered:
            if r is None:
                results.append(None)
            elif isinstance(r, str):
                results.append({"total_tokens": None, "trainable_tokens": None, "thoughts": None,
                                "thoughts_kept": None, "render_error": r})
            else:
                per_segment = [(next(counts), trained) for _, trained in r.segments]
                results.append({
                    "total_tokens": sum(n for n, _ in per_segment),
                    "trainable_tokens": sum(n for n, trained in per_segment if trained) if self.counts_trainable else None,
                    "thoughts": r.thoughts,
                    "thoughts_kept": r.thoughts_kept,
                    "render_error": None,
                })
        return results
