"""Chat templates: the ones TRL ships (``qwen3_training``, ``qwen3``, ``llama3``, ...) or any
``.jinja`` file, rendered with transformers' own ``render_jinja_template`` (no torch needed), the
function a trainer's tokenizer calls, so the text counted is the text trained on."""

from __future__ import annotations

import importlib.util
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from foundation.errors import ExportError

DEFAULT_CHAT_TEMPLATE = "qwen3_training"


class _NoTorchNotice(logging.Filter):
    """transformers announces on import that PyTorch is missing; rendering a template needs no torch,
    so to an export's user the notice only reads as something broken."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not record.getMessage().startswith("PyTorch was not found")


def _render_jinja_template() -> Any:
    logging.getLogger("transformers").addFilter(_NO_TORCH_NOTICE)
    from transformers.utils.chat_template_utils import render_jinja_template

    return render_jinja_template


_NO_TORCH_NOTICE = _NoTorchNotice()


@dataclass(frozen=True)
class ChatTemplate:
    name: str
    source: str

    @property
    def marks_assistant_spans(self) -> bool:
        """Whether the template wraps assistant output in {% generation %}, which assistant-only
        loss needs; without it a trainer cannot tell trained tokens from the rest."""
        return "{% generation %}" in self.source or "{%- generation %}" in self.source

    def render(
        self, messages: list[dict[str, Any]], tools: list[Any] | None, add_generation_prompt: bool = False
    ) -> tuple[str, list[tuple[int, int]]]:
        """The rendered text and the character spans of assistant output ({% generation %})."""
        render_jinja_template = _render_jinja_template()
        # With return_assistant_tokens_mask it returns (texts, generation spans), whatever its annotation says.
        rendered: Any = render_jinja_template(
            [messages], tools=tools or None, chat_template=self.source,
            return_assistant_tokens_mask=True, add_generation_prompt=add_generation_prompt,
        )
        texts, spans = rendered
        return texts[0], [tuple(span) for span in spans[0]]


def trl_templates_dir() -> Path | None:
    """TRL's chat_templates folder, found without importing TRL (which would import torch)."""
    spec = importlib.util.find_spec("trl")
    if spec is None or not spec.submodule_search_locations:
        return None
    folder = Path(next(iter(spec.submodule_search_locations))) / "chat_templates"
    return folder if folder.is_dir() else None


def known_templates() -> list[str]:
    folder = trl_templates_dir()
    return sorted(p.stem for p in folder.glob("*.jinja")) if folder else []


def load_template(name: str) -> ChatTemplate:
    path = Path(name)
    if name.endswith(".jinja") or path.is_file():
        if not path.is_file():
            raise ExportError(f"chat template file {name} does not exist")
        return ChatTemplate(path.stem, path.read_text(encoding="utf-8"))
    folder = trl_templates_dir()
    if folder is None:
        raise ExportError(
            f"chat template {name!r} comes from TRL's package, which is not installed: "
            "run `make setup` or `pip install --no-deps trl` (its templates are files; torch is not needed)"
        )
    candidate = folder / f"{name}.jinja"
    if not candidate.is_file():
        raise ExportError(
            f"unknown chat template {name!r}: choose one of {', '.join(known_templates())}, or a .jinja file"
        )
    return ChatTemplate(name, candidate.read_text(encoding="utf-8"))
