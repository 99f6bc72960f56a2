"""The export formats: which sft_* model each reads, the keys of a line and the model column
behind each key in either system-prompt mode, and the format's unit (conversation or turn)."""

from __future__ import annotations

from dataclasses import dataclass

from foundation.errors import ExportError

SYSTEM_PROMPT_MODES = ("structured", "verbatim")
SAME = "<same as structured>"
DEFAULT_SYSTEM_PROMPT = "structured"


@dataclass(frozen=True)
class Field:
    """One key of an exported line: the model column (or SQL literal) behind it in each mode;
    None leaves the key out in that mode. An optional key is left out of a line where it is null."""

    key: str
    structured: str | None
    verbatim: str | None = SAME
    optional: bool = False
    # The column holds JSON text written into the line as it is (DuckDB types it JSON; on Spark
    # it is a string, so the Spark writer needs telling). Other values are encoded as JSON.
    is_json: bool = False

    def source(self, mode: str) -> str | None:
        if mode == "structured":
            return self.structured
        return self.structured if self.verbatim == SAME else self.verbatim


@dataclass(frozen=True)
class ExportFormat:
    name: str
    model: str
    fields: tuple[Field, ...]
    level: str  # "conversation" or "turn"
    structured: bool  # carries structured tool_calls, so unpaired calls would break it
    chat: str  # how its records become chat messages to render: messages, prompt_completion, sharegpt, text
    ids_in_line: bool = True  # False: the ids go to a sidecar file, line-aligned

    @property
    def order_columns(self) -> tuple[str, ...]:
        """The model's columns that put its rows in ingest order: a conversation's turns by their
        place in it (their ids sort as text: .../10 before .../2)."""
        return ("conversation_seq", "message_index") if self.level == "turn" else ("conversation_seq", "sample_id")

    @property
    def columns(self) -> tuple[str, ...]:
        return tuple(f.key for f in self.fields)

    def fields_in(self, mode: str) -> list[tuple[Field, str]]:
        """The keys written in ``mode``, each with its SQL over the model (aliased ``sft``)."""
        return [
            (f, source if source.startswith("'") else f"sft.{source}")
            for f in self.fields
            if (source := f.source(mode)) is not None
        ]


TOOLS = Field("tools", "tools", None, optional=True, is_json=True)

FORMATS: dict[str, ExportFormat] = {
    f.name: f
    for f in (
        ExportFormat(
            "trl-messages", "sft_trl_messages",
            (Field("id", "id"), Field("messages", "messages", "messages_verbatim", is_json=True), TOOLS),
            "conversation", True, "messages",
        ),
        ExportFormat(
            "trl-prompt-completion", "sft_trl_prompt_completion",
            (Field("id", "id"), Field("prompt", "prompt", "prompt_verbatim", is_json=True), Field("completion", "completion", is_json=True),
             TOOLS),
            "turn", True, "prompt_completion",
        ),
        # OpenAI's chat fine-tuning lines carry only the keys it documents; ids go beside the file.
        ExportFormat(
            "openai", "sft_openai",
            (Field("messages", "messages", "messages_verbatim", is_json=True), TOOLS, Field("parallel_tool_calls", "parallel_tool_calls")),
            "conversation", True, "messages", ids_in_line=False,
        ),
        # LLaMA-Factory reads `tools` as a JSON string; "" means none.
        ExportFormat(
            "sharegpt", "sft_sharegpt",
            (Field("id", "id"), Field("conversations", "conversations", is_json=True), Field("system", "system", "system_verbatim"),
             Field("tools", "tools", "''")),
            "conversation", True, "sharegpt",
        ),
        ExportFormat(
            "prompt-response", "sft_prompt_response",
            (Field("id", "id"), Field("conversation_id", "conversation_id"), Field("turn_index", "turn_index"),
             Field("prompt", "prompt"), Field("response", "response")),
            "turn", False, "text",
        ),
    )
}
DEFAULT_FORMAT = "trl-messages"
# Not a model of its own: the trl-messages rows as a dataset folder in the Hugging Face hub's layout.
HUB_FORMAT = "hub"


def resolve_formats(names: list[str]) -> tuple[list[ExportFormat], bool]:
    """The line formats asked for, and whether the hub folder is asked for too (it is made from
    the trl-messages file, so that format comes with it)."""
    if not names:
        names = [DEFAULT_FORMAT]
    if "all" in names:
        return list(FORMATS.values()), True
    unknown = [n for n in names if n not in FORMATS and n != HUB_FORMAT]
    if unknown:
        raise ExportError(f"unknown format {', '.join(unknown)}: choose from {', '.join(FORMATS)}, {HUB_FORMAT} or all")
    chosen = [FORMATS[n] for n in names if n in FORMATS]
    with_hub = HUB_FORMAT in names
    if with_hub and FORMATS[DEFAULT_FORMAT] not in chosen:
        chosen = [FORMATS[DEFAULT_FORMAT], *chosen]
    return chosen, with_hub


def check_system_prompt_mode(mode: str) -> str:
    if mode not in SYSTEM_PROMPT_MODES:
        raise ExportError(f"unknown --system-prompt {mode!r}: choose {' or '.join(SYSTEM_PROMPT_MODES)}")
    return mode
