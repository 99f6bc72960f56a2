"""The trainers' own code, loaded without torch, for the tests that feed them the exports.

LLaMA-Factory (``pip install --no-deps llamafactory``): its ``data`` and ``hparams`` packages import
torch in their ``__init__``, and ``extras.constants`` imports peft for two file names. Stand-in
package modules whose ``__path__`` is the real folder let the real ``parser``, ``converter``,
``formatter`` and ``tool_utils`` modules import; nothing of theirs is re-implemented here.
"""

from __future__ import annotations

import importlib
import importlib.util
import logging
import sys
import types
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


@dataclass
class LlamaFactory:
    parser: Any
    converter: Any
    formatter: Any


def _package(name: str, folder: Path) -> None:
    module = types.ModuleType(name)
    module.__path__ = [str(folder)]
    sys.modules[name] = module


def load_llamafactory() -> LlamaFactory:
    if "llamafactory.data.converter" not in sys.modules:
        spec = importlib.util.find_spec("llamafactory")
        assert spec is not None and spec.submodule_search_locations, "make setup installs llamafactory (--no-deps)"
        root = Path(next(iter(spec.submodule_search_locations)))
        _package("llamafactory", root)
        _package("llamafactory.extras", root / "extras")
        _package("llamafactory.data", root / "data")
        _package("llamafactory.hparams", root / "hparams")
        misc = types.ModuleType("llamafactory.extras.misc")
        misc.use_modelscope = lambda: False  # type: ignore[attr-defined]
        misc.use_openmind = lambda: False  # type: ignore[attr-defined]
        sys.modules["llamafactory.extras.misc"] = misc
        # peft is needed only for two weight-file names in extras.constants.
        peft = types.ModuleType("peft")
        peft_utils = types.ModuleType("peft.utils")
        peft_utils.SAFETENSORS_WEIGHTS_NAME = "adapter_model.safetensors"  # type: ignore[attr-defined]
        peft_utils.WEIGHTS_NAME = "adapter_model.bin"  # type: ignore[attr-defined]
        saved = {name: sys.modules.get(name) for name in ("peft", "peft.utils")}
        sys.modules["peft"], sys.modules["peft.utils"] = peft, peft_utils
        try:
            importlib.import_module("llamafactory.extras.constants")
        finally:
            for name, module in saved.items():
                if module is None:
                    sys.modules.pop(name, None)
                else:
                    sys.modules[name] = module
    return LlamaFactory(
        importlib.import_module("llamafactory.data.parser"),
        importlib.import_module("llamafactory.data.converter"),
        importlib.import_module("llamafactory.data.formatter"),
    )


@dataclass
class DataArguments:
    """The fields of LLaMA-Factory's DataArguments its sharegpt converter reads."""

    dataset_dir: str
    media_dir: str = ""


@dataclass
class ConvertedRows:
    rows: list[dict] = field(default_factory=list)
    skipped: int = 0
    warnings: list[str] = field(default_factory=list)


class _Collect(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


def convert_sharegpt(folder: Path, dataset_name: str, rows: list[dict]) -> ConvertedRows:
    """Each row through LLaMA-Factory's dataset_info.json reader and SharegptDatasetConverter, as
    its align_dataset maps them; a row it cannot use comes out with empty _prompt and _response."""
    lf = load_llamafactory()
    [attr] = lf.parser.get_dataset_list([dataset_name], str(folder))
    converter = lf.converter.get_dataset_converter(attr.formatting, attr, DataArguments(str(folder)))
    handler = _Collect()
    logger = logging.getLogger("llamafactory")
    logger.addHandler(handler)
    try:
        result = ConvertedRows()
        for row in rows:
            converted = converter(row)
            if not converted["_prompt"] or not converted["_response"]:
                result.skipped += 1
            result.rows.append(converted)
        result.warnings = handler.messages
        return result
    finally:
        logger.removeHandler(handler)


def qwen_function_text(content: str) -> str:
    """A function_call message as LLaMA-Factory's qwen templates write it (its FunctionFormatter)."""
    lf = load_llamafactory()
    formatter = lf.formatter.FunctionFormatter(slots=["{{content}}"], tool_format="qwen")
    [text] = formatter.apply(content=content, thought_words=("<think>", "</think>"), tool_call_words=("<tool_call>", "</tool_call>"))
    return text


def qwen_tools_text(tools: str) -> str:
    lf = load_llamafactory()
    [text] = lf.formatter.ToolFormatter(tool_format="qwen").apply(content=tools)
    return text
