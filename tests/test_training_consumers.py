"""The training files as their consumers read them: datasets, transformers' render with the chat
templates TRL ships, LLaMA-Factory's dataset_info reader and sharegpt converter, OpenAI's format.
Each test feeds the exports to the consumer's own code (tests/consumers.py loads it without torch)."""

from __future__ import annotations

import itertools
import json
from pathlib import Path

import datasets
import duckdb
import pytest

from foundation.errors import ExportError
from reports.exports import ExportOptions, export
from reports.exports.hub import is_validation
from reports.exports.templates import load_template
from reports.exports.tokens import load_tokenizer
from tests.consumers import convert_sharegpt, qwen_function_text

pytestmark = pytest.mark.integration
HERMES_PREAMBLE = "You are a function calling AI model"


def read_jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def tool_names_by_row(db: Path) -> dict[str, list[str]]:
    con = duckdb.connect(str(db), read_only=True)
    rows = con.execute(
        """
        select c.source_config || '/' || c.conversation_id, list(d.tool_name)
        from fct_conversations as c
        inner join staging.stg_tool_definitions as d on c.tools_hash = d.tools_hash
        group by 1
        """
    ).fetchall()
    con.close()
    return dict(rows)


def definitions_in(text: str, name: str) -> int:
    """How often the definition of tool ``name`` is written out (JSON, as every writer of it spells it)."""
    return text.count(f'"name": "{name}", "description"')


@pytest.fixture(scope="module")
def trl_rows(sample_exports) -> datasets.Dataset:
    return datasets.load_dataset("json", data_files=str(sample_exports["trl-messages"].path), split="train")


@pytest.mark.parametrize("template_name", ["qwen3_training", "qwen3"])
def test_trl_templates_render_every_row_with_each_tool_defined_once(sample_db, sample_exports, trl_rows, template_name):
    template = load_template(template_name)
    raw = {row["id"]: row for row in read_jsonl(sample_exports["trl-messages"].path)}
    unparsable = set(sample_exports["trl-messages"].manifest["system_prompt"]["unparsable_tools_ids"])
    names = tool_names_by_row(sample_db)
    checked = 0
    for row in trl_rows:
        text, _ = template.render(row["messages"], row["tools"])
        # What datasets hands the trainer renders exactly as the line written: no null-filled keys.
        assert text == template.render(raw[row["id"]]["messages"], raw[row["id"]].get("tools"))[0]
        if row["id"] in unparsable:
            continue
        for name in names[row["id"]]:
            assert definitions_in(text, name) == 1, (row["id"], name)
        if row["tools"]:
            assert HERMES_PREAMBLE not in text
        checked += 1
    assert checked > 250


def test_qwen3_training_keeps_every_thought_and_marks_each_assistant_message(trl_rows):
    template = load_template("qwen3_training")
    for row in trl_rows:
        text, spans = template.render(row["messages"], row["tools"])
        assistant = [m for m in row["messages"] if m["role"] == "assistant"]
        assert len(spans) == len(assistant)
        assert not any("<tool_response>" in text[start:end] for start, end in spans)
        for message in assistant:
            if message["reasoning_content"] and message["reasoning_content"].strip():
                assert message["reasoning_content"].strip() in text


def test_stock_qwen3_keeps_the_thoughts_after_the_last_user_turn(trl_rows):
    # Rows end on an assistant turn, so the last user turn is the task and every later thought stays.
    template = load_template("qwen3")
    for row in trl_rows:
        text, _ = template.render(row["messages"], row["tools"])
        last_user = max(i for i, m in enumerate(row["messages"]) if m["role"] == "user")
        for message in row["messages"][last_user + 1 :]:
            if message["role"] == "assistant" and (message["reasoning_content"] or "").strip():
                assert message["reasoning_content"].strip() in text


def test_rows_end_on_an_assistant_turn_and_the_trimmed_turns_are_counted(sample_db, sample_exports):
    con = duckdb.connect(str(sample_db), read_only=True)
    trailing = dict(con.execute("select sample_id, n_trailing_turns from sft_trl_messages").fetchall())
    con.close()
    for name, last in (("trl-messages", "role"), ("openai", "role"), ("sharegpt", "from")):
        result = sample_exports[name]
        rows = read_jsonl(result.path)
        key = "messages" if name != "sharegpt" else "conversations"
        assert all(row[key][-1][last] in ("assistant", "gpt", "function_call") for row in rows)
        ids = [r["id"] for r in rows] if name != "openai" else result.extra_paths[0].read_text().splitlines()
        expected = sum(trailing[i] for i in ids)
        assert result.manifest["trailing_turns"]["turns_dropped"] == expected > 0
        assert result.manifest["trailing_turns"]["rows_trimmed"] == sum(1 for i in ids if trailing[i])


def test_trl_prompt_renders_as_a_prefix_of_prompt_and_completion(sample_exports):
    template = load_template("qwen3_training")
    rows = read_jsonl(sample_exports["trl-prompt-completion"].path)
    for row in rows[:: max(1, len(rows) // 200)]:
        prompt, _ = template.render(row["prompt"], row.get("tools"), add_generation_prompt=True)
        full, _ = template.render(row["prompt"] + row["completion"], row.get("tools"))
        assert full.startswith(prompt)
        assert [m["role"] for m in row["completion"]] == ["assistant"]


def test_llamafactory_reads_dataset_info_and_skips_no_row(sample_exports):
    result = sample_exports["sharegpt"]
    rows = read_jsonl(result.path)
    info = json.loads((result.path.parent / "dataset_info.json").read_text())
    [name] = info
    converted = convert_sharegpt(result.path.parent, name, rows)
    assert converted.skipped == 0 and converted.warnings == []
    assert len(converted.rows) == result.manifest["rows_out"] > 250
    for row, aligned in zip(rows, converted.rows, strict=True):
        assert aligned["_response"][0]["role"] in ("assistant", "function")
        assert aligned["_system"] == row["system"] and aligned["_tools"] == row["tools"]


def test_llamafactory_parses_every_function_call_into_the_exported_calls(sample_exports):
    trl = {r["id"]: r for r in read_jsonl(sample_exports["trl-messages"].path)}
    checked = 0
    for row in read_jsonl(sample_exports["sharegpt"].path):
        structured = [m for m in trl[row["id"]]["messages"] if m["role"] == "assistant"]
        turns = [t for t in row["conversations"] if t["from"] in ("gpt", "function_call")]
        for turn, message in zip(turns, structured, strict=True):
            if turn["from"] != "function_call":
                assert not message.get("tool_calls")
                continue
            text = qwen_function_text(turn["value"])  # raises on a call it cannot parse
            calls = [json.loads(body) for body in text.split("<tool_call>\n")[1:] for body in [body.split("\n</tool_call>")[0]]]
            expected = [{"name": c["function"]["name"], "arguments": c["function"]["arguments"]} for c in message["tool_calls"]]
            assert calls == expected
            checked += 1
    assert checked > 1000


def test_the_llamafactory_check_does_catch_a_broken_row(sample_exports):
    result = sample_exports["sharegpt"]
    row = read_jsonl(result.path)[0]
    broken = {**row, "conversations": row["conversations"] + [{"from": "human", "value": "and then?"}]}
    converted = convert_sharegpt(result.path.parent, "trace_warehouse_sharegpt", [row, broken])
    assert converted.skipped == 1 and converted.warnings


def test_openai_lines_follow_its_chat_fine_tuning_format(sample_exports):
    result = sample_exports["openai"]
    rows = read_jsonl(result.path)
    ids = result.extra_paths[0].read_text().splitlines()
    assert len(ids) == len(rows) == result.manifest["rows_out"] and len(set(ids)) == len(ids)
    for row in rows:
        assert set(row) <= {"messages", "tools", "parallel_tool_calls"}
        messages = row["messages"]
        assert messages[-1]["role"] == "assistant"
        for i, message in enumerate(messages):
            assert message["role"] in ("system", "user", "assistant", "tool")
            if message["role"] == "system":
                assert i == 0 and message["content"]
            if message["role"] == "assistant":
                assert message["weight"] in (0, 1)
                assert message.get("content") or message.get("tool_calls")
                calls = message.get("tool_calls") or [] if i < len(messages) - 1 else []
                answers = messages[i + 1 : i + 1 + len(calls)]
                assert [m.get("tool_call_id") for m in answers] == [c["id"] for c in calls]
                assert all(isinstance(json.loads(c["function"]["arguments"]), dict) for c in calls)
        for tool in row.get("tools", []):
            assert tool["type"] == "function" and {"name", "parameters"} <= set(tool["function"])


def test_manifest_tokens_equal_the_tokenizer_over_the_same_render(sample_exports):
    manifest = sample_exports["trl-messages"].manifest["tokens"]
    assert (manifest["tokenizer"], manifest["chat_template"]) == ("qwen3", "qwen3_training")
    template, tokenizer = load_template("qwen3_training"), load_tokenizer("qwen3")
    total = trainable = 0
    for row in read_jsonl(sample_exports["trl-messages"].path):
        text, spans = template.render(row["messages"], row.get("tools"))
        total += len(tokenizer.encode(text))
        trainable += sum(len(tokenizer.encode(text[start:end])) for start, end in spans)
    assert abs(manifest["total_tokens"] - total) <= 0.01 * total
    assert abs(manifest["trainable_tokens"] - trainable) <= 0.01 * trainable
    assert manifest["thoughts"]["share_kept"] == 1.0
    assert manifest["p50_total_tokens"] <= manifest["p95_total_tokens"] <= manifest["max_total_tokens"]
    assert 0 < manifest["share_over_8k_tokens"] <= 1


def test_the_system_prompt_rule_in_both_modes(sample_db, sample_exports, tmp_path):
    con = duckdb.connect(str(sample_db), read_only=True)
    forms = dict(con.execute("select sample_id, system_prompt_form from sft_trl_messages").fetchall())
    source = dict(con.execute(
        "select m.source_config || '/' || m.conversation_id, p.system_prompt from staging.stg_messages as m "
        "inner join staging.stg_system_prompts as p on m.system_prompt_hash = p.system_prompt_hash"
    ).fetchall())
    con.close()
    manifest = sample_exports["trl-messages"].manifest["system_prompt"]
    unparsable = set(manifest["unparsable_tools_ids"])
    structured = read_jsonl(sample_exports["trl-messages"].path)
    assert manifest["rewritten"] > 250 and manifest["rewritten_with_other_text_kept"] > 0
    assert manifest["not_recognised"] > 0 and unparsable
    for row in structured:
        system = row["messages"][0]["content"] if row["messages"][0]["role"] == "system" else None
        if row["id"] in unparsable or forms[row["id"]] == "not_recognised":
            assert system == source[row["id"]] and "tools" not in row
        elif forms[row["id"]] == "hermes_block_and_instructions":
            assert system.startswith("You are Hermes Agent") and HERMES_PREAMBLE not in system and row["tools"]
        else:
            assert system is None and row["tools"]
    verbatim = export(sample_db, tmp_path, ["trl-messages", "sharegpt"], ExportOptions(system_prompt="verbatim", tokenizer=None))
    for row in read_jsonl(verbatim[0].path):
        assert row["messages"][0] == {"role": "system", "content": source[row["id"]]} and "tools" not in row
    for row in read_jsonl(verbatim[1].path):
        assert row["system"] == source[row["id"]] and row["tools"] == ""


def test_hub_folder_loads_with_both_splits_and_no_shared_conversation(sample_exports):
    folder = sample_exports["hub"].path
    loaded = datasets.load_dataset(str(folder))
    assert set(loaded) == {"train", "validation"}
    train, validation = set(loaded["train"]["id"]), set(loaded["validation"]["id"])
    exported = [r["id"] for r in read_jsonl(sample_exports["trl-messages"].path)]
    assert not train & validation and train | validation == set(exported)
    assert validation == {i for i in exported if is_validation(i, 0.02)} != set()
    card = (folder / "README.md").read_text()
    # The sample is no published dataset: its license is not claimed.
    assert "configs:" in card and "license: other" in card and "qwen3_training" in card
    assert {p.name for p in (folder / "examples").iterdir()} == {"sft_trl.py", "axolotl.yml", "dataset_info.json"}
    template = load_template("qwen3_training")
    row = loaded["train"][0]
    assert "<tool_call>" in template.render(row["messages"], row["tools"])[0]


def test_a_template_that_fails_on_a_row_excludes_it_with_the_reason(sample_db, tmp_path):
    failing = tmp_path / "picky.jinja"
    failing.write_text(
        "{% if messages | length > 40 %}{{ raise_exception('too many messages for this template') }}{% endif %}"
        "{% for m in messages %}{{ m.role }}: {{ m.content }}\n{% endfor %}"
    )
    result = export(sample_db, tmp_path / "out", ["trl-messages"], ExportOptions(chat_template=str(failing)))[0]
    m = result.manifest
    failed = m["excluded"]["template_error"]
    assert failed == m["tokens"]["template_errors"]["rows"] > 0 and m["rows_out"] > 0
    assert "too many messages" in m["tokens"]["template_errors"]["examples"][0]["error"]
    assert m["rows_in"] == m["rows_out"] + sum(m["excluded"].values())
    assert all(len(r["messages"]) <= 40 for r in read_jsonl(result.path))
    assert m["tokens"]["trainable_tokens"] is None and any("generation" in w for w in m["warnings"])


def test_unknown_template_lists_the_known_ones(sample_db, tmp_path):
    with pytest.raises(ExportError, match=r"unknown chat template 'qwen9'.*qwen3_training"):
        export(sample_db, tmp_path, ["trl-messages"], ExportOptions(chat_template="qwen9"))
    assert not any(tmp_path.iterdir())


def run_trl_example(script: Path, cwd: Path) -> dict:
    """Run the hub folder's sft_trl.py as a user would (``python examples/sft_trl.py``, from anywhere),
    with TRL's trainer (which needs torch) replaced by one that records what it was given; the
    script's own load_dataset runs for real."""
    import runpy
    import sys
    import types

    seen: dict = {}
    trl_module = types.ModuleType("trl")
    trl_module.__file__ = str(cwd / "trl" / "__init__.py")

    class SFTConfig(dict):
        def __init__(self, **kwargs):
            super().__init__(kwargs)

    class SFTTrainer:
        def __init__(self, **kwargs):
            seen.update(kwargs)

        def train(self):
            seen["trained"] = True

    trl_module.__dict__.update(SFTConfig=SFTConfig, SFTTrainer=SFTTrainer)
    saved = sys.modules.get("trl")
    sys.modules["trl"] = trl_module
    try:
        with pytest.MonkeyPatch.context() as patch:
            patch.chdir(cwd)
            runpy.run_path(str(script), run_name="__main__")
    finally:
        if saved is not None:
            sys.modules["trl"] = saved
        else:
            del sys.modules["trl"]
    return seen


def test_hub_folder_works_after_being_moved(sample_exports, tmp_path):
    import shutil

    moved = tmp_path / "elsewhere" / "my-dataset"
    shutil.copytree(sample_exports["hub"].path, moved)
    manifest = sample_exports["trl-messages"].manifest["tokens"]
    for example in (moved / "examples").iterdir():
        assert str(sample_exports["hub"].path) not in example.read_text(), example.name
    seen = run_trl_example(moved / "examples" / "sft_trl.py", cwd=tmp_path)
    assert seen["trained"] and len(seen["train_dataset"]) + len(seen["eval_dataset"]) == manifest["samples"]
    assert seen["args"]["max_length"] == manifest["recommended_max_length"] >= manifest["max_total_tokens"]
    # Axolotl resolves a dataset path against where it runs: the folder, as the entry says.
    import yaml

    axolotl = yaml.safe_load((moved / "examples" / "axolotl.yml").read_text())
    assert axolotl["sequence_len"] == manifest["recommended_max_length"]
    path = axolotl["datasets"][0]["path"]
    assert datasets.load_dataset(str(moved / path), split="train").num_rows == len(seen["train_dataset"])
    card = (moved / "README.md").read_text()
    assert f"**{manifest['recommended_max_length']:,}**" in card


def test_hub_folder_without_a_validation_split_trains_and_names_the_hub_repo(sample_db, tmp_path):
    options = ExportOptions(tokenizer=None, validation_share=0, hub_name="someone/agent-traces")
    [_, hub] = export(sample_db, tmp_path / "out", ["hub"], options)
    script = (hub.path / "examples" / "sft_trl.py").read_text()
    assert "DATASET = 'someone/agent-traces'" in script
    assert "path: someone/agent-traces" in (hub.path / "examples" / "axolotl.yml").read_text()
    assert 'load_dataset("someone/agent-traces")' in (hub.path / "README.md").read_text()
    # The folder itself, with no validation split: the script's eval_dataset is None, not a KeyError.
    local = tmp_path / "local.py"
    local.write_text(script.replace("DATASET = 'someone/agent-traces'", f"DATASET = {str(hub.path)!r}"))
    seen = run_trl_example(local, cwd=tmp_path)
    assert seen["eval_dataset"] is None and len(seen["train_dataset"]) == hub.manifest["rows_out"]
    assert "Tokens were not counted" in script


def test_manifest_recommends_a_max_length_and_warns_when_rows_pass_the_defaults(sample_exports):
    for name in ("trl-messages", "trl-prompt-completion", "openai", "sharegpt"):
        manifest = sample_exports[name].manifest
        tokens = manifest["tokens"]
        assert tokens["recommended_max_length"] % 1024 == 0
        assert 0 <= tokens["recommended_max_length"] - tokens["max_total_tokens"] < 1024
        assert tokens["p50_total_tokens"] > 2048  # the sample's rows, like the real ones
        [warning] = [w for w in manifest["warnings"] if "max_length" in w]
        assert f"{tokens['recommended_max_length']:,}" in warning and "TRL's default is 1,024" in warning


def test_turn_level_rows_come_in_turn_order(sample_exports):
    for name in ("trl-prompt-completion", "prompt-response"):
        ids = [row["id"] for row in read_jsonl(sample_exports[name].path)]
        by_conversation: dict[str, list[int]] = {}
        for sample_id in ids:
            conversation, index = sample_id.rsplit("/", 1)
            by_conversation.setdefault(conversation, []).append(int(index))
        assert any(max(indexes) >= 10 for indexes in by_conversation.values())  # ids that sort otherwise as text
        for conversation, indexes in by_conversation.items():
            assert indexes == sorted(indexes), (name, conversation)
        # Conversations stay whole and in ingest order: each one's turns in one run.
        runs = [conversation for conversation, _ in itertools.groupby(i.rsplit("/", 1)[0] for i in ids)]
        assert len(runs) == len(by_conversation)
