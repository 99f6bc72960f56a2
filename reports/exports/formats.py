"""The export formats: which sft_* model each reads, its columns, and its unit (conversation or turn)."""

from __future__ import annotations

from dataclasses import dataclass

from trace_warehouse.errors import ExportError


@dataclass(frozen=True)
class ExportFormat:
    name: str
    model: str
    columns: tuple[str, ...]
    level: str  # "conversation" or "turn"
    structured: bool  # carries structured tool_calls, so unpaired calls would break it
    total_text: str
    trainable_text: str


FORMATS: dict[str, ExportFormat] = {
    f.name: f
    for f in (
        ExportFormat(
            "trl-messages", "sft_trl_messages", ("id", "messages", "tools"), "conversation", True,
            "sft.messages::varchar", "sft.trainable_text",
        ),
        ExportFormat(
            "trl-prompt-completion", "sft_trl_prompt_completion", ("id", "prompt", "completion", "tools"), "turn", True,
            "sft.prompt::varchar || sft.completion::varchar", "sft.completion::varchar",
        ),
        ExportFormat(
            "openai", "sft_openai", ("id", "messages", "tools", "parallel_tool_calls"), "conversation", True,
            "sft.messages::varchar", "sft.trainable_text",
        ),
        ExportFormat(
            "sharegpt", "sft_sharegpt", ("id", "conversations", "tools"), "conversation", False,
            "sft.conversations::varchar", "sft.trainable_text",
        ),
        ExportFormat(
            "prompt-response", "sft_prompt_response", ("id", "conversation_id", "turn_index", "prompt", "response"),
            "turn", False, "sft.prompt || sft.response", "sft.response",
        ),
    )
}
DEFAULT_FORMAT = "trl-messages"


def resolve_formats(names: list[str]) -> list[ExportFormat]:
    if not names:
        names = [DEFAULT_FORMAT]
    if "all" in names:
        return list(FORMATS.values())
    unknown = [n for n in names if n not in FORMATS]
    if unknown:
        raise ExportError(f"unknown format {', '.join(unknown)}: choose from {', '.join(FORMATS)} or all")
    return [FORMATS[n] for n in names]
