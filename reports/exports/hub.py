"""The trl-messages rows as a dataset folder in the Hugging Face hub's layout, and the ready-made
entries each trainer reads beside an export (LLaMA-Factory's dataset_info.json, Axolotl, TRL).

``<out>/hub/``: ``data/{train,validation}-NNNNN-of-NNNNN.parquet`` written by ``datasets`` itself
(so its JSON-typed columns load back as they were), a README.md whose YAML ``configs:`` declares
the splits, and ``examples/`` with a TRL script, an Axolotl entry and a LLaMA-Factory entry.
A conversation's split is a hash of its id: the same input always gives the same split.
"""

from __future__ import annotations

import hashlib
import json
import math
import shutil
import tempfile
from pathlib import Path

from foundation.errors import ExportError

HUB_DIR = "hub"
SHARD_BYTES = 500_000_000
# The licenses of sources we know; any other source is "unknown" in the card (`license: other`).
KNOWN_LICENSES = {"hf:lambda/hermes-agent-reasoning-traces": "apache-2.0"}

# LLaMA-Factory's sharegpt reader: every column and tag spelled out (a tag left out becomes None,
# not its default), tool turns tagged `tool` as observations, structured calls as function_call.
LLAMAFACTORY_TAGS = {
    "role_tag": "from", "content_tag": "value", "user_tag": "human", "assistant_tag": "gpt",
    "observation_tag": "tool", "function_tag": "function_call", "system_tag": "system",
}


def llamafactory_entry(file_name: str) -> dict:
    return {
        "file_name": file_name,
        "formatting": "sharegpt",
        "columns": {"messages": "conversations", "system": "system", "tools": "tools"},
        "tags": dict(LLAMAFACTORY_TAGS),
    }


def write_llamafactory_info(out: Path, file_name: str, name: str = "trace_warehouse_sharegpt") -> Path:
    """dataset_info.json beside the sharegpt file: `dataset: <name>` in a LLaMA-Factory config, with
    `dataset_dir` pointing at this folder."""
    path = out / "dataset_info.json"
    path.write_text(json.dumps({name: llamafactory_entry(file_name)}, indent=2) + "\n", encoding="utf-8")
    return path


def is_validation(conversation_id: str, share: float) -> bool:
    digest = hashlib.sha256(conversation_id.encode("utf-8")).digest()
    return int.from_bytes(digest[:8], "big") / 2**64 < share


def split_lines(source: Path, folder: Path, share: float) -> dict[str, tuple[Path, int]]:
    """Stream the trl-messages lines into train.jsonl and validation.jsonl by the hash of their id."""
    paths = {split: folder / f"{split}.jsonl" for split in ("train", "validation")}
    counts = dict.fromkeys(paths, 0)
    with source.open("rb") as lines, paths["train"].open("wb") as train, paths["validation"].open("wb") as validation:
        for line in lines:
            # The id is the first key of every line: read it without parsing the whole row.
            head = json.JSONDecoder().raw_decode(line[:4096].decode("utf-8", "replace"), line.index(b":") + 1)[0]
            split = "validation" if is_validation(head, share) else "train"
            (validation if split == "validation" else train).write(line)
            counts[split] += 1
    return {split: (paths[split], counts[split]) for split in paths}


def _write_parquet(jsonl: Path, rows: int, data_dir: Path, split: str, cache: Path) -> list[str]:
    import datasets

    if rows == 0:
        return []
    datasets.disable_progress_bars()
    dataset = datasets.Dataset.from_json(str(jsonl), cache_dir=str(cache))
    shards = max(1, math.ceil(jsonl.stat().st_size / SHARD_BYTES))
    names = []
    for index in range(shards):
        name = f"{split}-{index:05d}-of-{shards:05d}.parquet"
        dataset.shard(shards, index, contiguous=True).to_parquet(str(data_dir / name))
        names.append(name)
    return names


def _card(manifest: dict, counts: dict[str, int], share: float, sources: list[str], hub_name: str | None) -> str:
    licenses = {KNOWN_LICENSES.get(s.split("@")[0], "unknown") for s in sources} or {"unknown"}
    license_id = licenses.pop() if len(licenses) == 1 else "unknown"
    tokens = manifest["tokens"]
    yaml_header = "\n".join([
        "---",
        f"license: {license_id if license_id != 'unknown' else 'other'}",
        "task_categories:\n- text-generation",
        "tags:\n- tool-calling\n- agent\n- reasoning\n- sft\n- trace-warehouse",
        "configs:",
        "- config_name: default",
        "  data_files:",
        *[f"  - split: {split}\n    path: data/{split}-*.parquet" for split in ("train", "validation") if counts[split]],
        "---",
    ])
    filters = {k: v for k, v in manifest["filters"].items() if v not in (None, [], False)}
    lines = [
        yaml_header,
        "",
        "# Agent traces for supervised fine-tuning",
        "",
        "Exported by trace-warehouse (`traces export --format hub`): TRL's conversational format with tools, one row",
        "per conversation: `id`, `messages` (system/user/assistant/tool; assistant turns carry `reasoning_content`",
        "and structured `tool_calls` with object arguments), `tools` (function form).",
        "",
        "## Source",
        "",
        f"- Inputs: {', '.join(sources) or 'unknown'}; rows per config: {json.dumps(manifest['source']['rows_by_config'])}",
        f"- License: {license_id} (the source's; check it before publishing)",
        f"- Filters: `{json.dumps(filters)}`",
        f"- Rows: {manifest['rows_out']} of {manifest['rows_in']} conversations; excluded: {json.dumps(manifest['excluded'])}",
        f"- Splits by a hash of the conversation id: train {counts['train']}, validation {counts['validation']}"
        f" (share {share})",
        f"- System prompts: {manifest['system_prompt']['mode']}: {manifest['system_prompt']['rule']}",
        f"- Trailing turns: {manifest['trailing_turns']['turns_dropped']} dropped from "
        f"{manifest['trailing_turns']['rows_trimmed']} rows, so every row ends on an assistant turn",
        "",
        "## Tokens",
        "",
    ]
    if tokens.get("tokenizer"):
        trainable = "n/a" if tokens["trainable_tokens"] is None else f"{tokens['trainable_tokens']:,}"
        lines += [
            f"Counted with `{tokens['tokenizer']}` over the rows rendered by `{tokens.get('chat_template')}`:",
            "",
            "| total | trainable | p50 / row | p95 / row | max / row | over 8k | over 32k | over 128k | thoughts kept |",
            "|---|---|---|---|---|---|---|---|---|",
            f"| {tokens['total_tokens']:,} | {trainable}"
            f" | {tokens['p50_total_tokens']} | {tokens['p95_total_tokens']} | {tokens['max_total_tokens']}"
            f" | {tokens['share_over_8k_tokens']:.1%} | {tokens['share_over_32k_tokens']:.1%}"
            f" | {tokens['share_over_128k_tokens']:.1%} | {tokens['thoughts']['share_kept']} |",
        ]
    else:
        lines.append("Not counted (`--tokenizer none`).")
    max_length, max_length_comment = max_length_of(manifest)
    lines += ["", "## Use", "", "```python", "from datasets import load_dataset",
              f'ds = load_dataset("{hub_name or "path/to/this/folder"}")  # {" and ".join(s for s in counts if counts[s])}', "```", "",
              f"Set the trainer's `max_length` to **{max_length:,}**. {max_length_comment} With assistant-only loss the",
              "first trained token comes after the system turn with its tool definitions (thousands of tokens in): at a",
              "default `max_length` of 1,024 or 2,048 most rows are fully masked and dropped without a word.", "",
              "Ready-made entries in `examples/`: `sft_trl.py` (TRL SFTTrainer), `axolotl.yml` (chat_template dataset),",
              "`dataset_info.json` (LLaMA-Factory, for the sharegpt export).", ""]
    return "\n".join(lines)


TRL_EXAMPLE = '''"""Fine-tune on this dataset with TRL (pip install trl). Each row's `tools` go to the chat template."""
from pathlib import Path

import trl
from datasets import load_dataset
from trl import SFTConfig, SFTTrainer

# {dataset_comment}
DATASET = {dataset}
# {max_length_comment}
MAX_LENGTH = {max_length}

data = load_dataset(DATASET)
template = Path(trl.__file__).parent / "chat_templates" / "qwen3_training.jinja"
trainer = SFTTrainer(
    model="Qwen/Qwen3-8B",
    train_dataset=data["train"],
    eval_dataset=data.get("validation"),  # a small export, or --validation-share 0, has none
    # qwen3_training marks assistant output with {{% generation %}}: loss on the assistant turns only,
    # every thought kept (stock qwen3 drops thoughts before the last user turn).
    args=SFTConfig(output_dir="out/sft", assistant_only_loss=True, chat_template_path=str(template), max_length=MAX_LENGTH),
)
trainer.train()
'''

AXOLOTL_EXAMPLE = """# An Axolotl dataset entry for this dataset (axolotl train config.yml).
# {path_comment}
chat_template: qwen3
sequence_len: {max_length}
datasets:
  - path: {path}
    split: train
    type: chat_template
    field_messages: messages
    message_property_mappings:
      role: role
      content: content
      reasoning_content: reasoning_content
    roles_to_train: ["assistant"]
    train_on_eos: turn
"""
# Without token counts (--tokenizer none) the examples fall back to this, and say so.
FALLBACK_MAX_LENGTH = 32768


def max_length_of(manifest: dict) -> tuple[int, str]:
    """The max_length the examples set, and the comment that says where it comes from."""
    tokens = manifest["tokens"]
    recommended = tokens.get("recommended_max_length")
    if not recommended:
        return FALLBACK_MAX_LENGTH, "Tokens were not counted (--tokenizer none): size this from your rows (docs/exports.md)."
    return recommended, (
        f"Every row whole: the longest is {tokens['max_total_tokens']:,} tokens rendered with {tokens.get('chat_template')} "
        f"(p95 {tokens['p95_total_tokens']:,}; manifest.json). Shorter rows cost less: re-export with --max-tokens N."
    )


def write_examples(examples: Path, manifest: dict, hub_name: str | None) -> None:
    """The trainers' entries, with no path of the exporting machine in them: the folder is found
    from where the script lies (or is the hub repo id it was uploaded as), so it can be moved."""
    max_length, max_length_comment = max_length_of(manifest)
    if hub_name:
        dataset, dataset_comment = repr(hub_name), "The dataset on the hub (traces export --hub-name)."
        path, path_comment = hub_name, "The dataset on the hub (traces export --hub-name)."
    else:
        dataset = "str(Path(__file__).resolve().parent.parent)"
        dataset_comment = "This folder, wherever it lies (the script sits in its examples/); or a hub repo id once uploaded."
        path = "."
        path_comment = "Run in this folder (axolotl train examples/axolotl.yml), or put the hub repo id here once uploaded."
    (examples / "sft_trl.py").write_text(
        TRL_EXAMPLE.format(dataset=dataset, dataset_comment=dataset_comment, max_length=max_length, max_length_comment=max_length_comment),
        encoding="utf-8",
    )
    (examples / "axolotl.yml").write_text(
        AXOLOTL_EXAMPLE.format(path=path, path_comment=path_comment, max_length=max_length), encoding="utf-8"
    )
    (examples / "dataset_info.json").write_text(
        json.dumps({"trace_warehouse_sharegpt": llamafactory_entry("sharegpt.jsonl")}, indent=2) + "\n", encoding="utf-8"
    )


def write_hub(source: Path, out: Path, manifest: dict, share: float, sources: list[str], hub_name: str | None = None) -> Path:
    """Write ``out/hub`` from a trl-messages export file and its manifest."""
    if not 0 <= share < 1:
        raise ExportError(f"--validation-share must be at least 0 and below 1, not {share}")
    folder = out / HUB_DIR
    staging = Path(tempfile.mkdtemp(prefix=".hub-", dir=out))
    try:
        data_dir = staging / "data"
        data_dir.mkdir()
        splits = split_lines(source, staging, share)
        for split, (jsonl, rows) in splits.items():
            _write_parquet(jsonl, rows, data_dir, split, staging / "cache")
            jsonl.unlink()
        shutil.rmtree(staging / "cache", ignore_errors=True)
        counts = {split: rows for split, (_, rows) in splits.items()}
        (staging / "README.md").write_text(_card(manifest, counts, share, sources, hub_name), encoding="utf-8")
        examples = staging / "examples"
        examples.mkdir()
        write_examples(examples, manifest, hub_name)
        (staging / "manifest.json").write_text(json.dumps({**manifest, "splits": counts}, indent=2) + "\n", encoding="utf-8")
        if folder.exists():
            shutil.rmtree(folder)
        staging.replace(folder)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return folder
