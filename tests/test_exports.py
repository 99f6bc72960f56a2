"""SFT exports: every format loads in datasets, has the structure trainers expect, and round-trips."""

from __future__ import annotations

import hashlib
import json
import re
from collections import Counter
from pathlib import Path

import datasets
import duckdb
import pytest

from foundation.errors import ExportError
from foundation.warehouse import one_row
from ingest.synthetic.catalog import SECRETS
from reports.exports import FORMATS, ExportOptions, export
from tests.helpers import run_cli

THINK = re.compile(r"<think>(.*?)(?:</think>|$)", re.S)
CALL = re.compile(r"<tool_call>(.*?)(?:</tool_call>|$)", re.S)
WS = " \t\n\r"


def read_jsonl(path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def source_messages(db) -> dict[tuple[str, str], list[tuple[str, str]]]:
    con = duckdb.connect(str(db), read_only=True)
    out: dict = {}
    for config, conversation, role, content in con.execute(
        "select source_config, conversation_id, role, content from staging.stg_messages "
        "order by source_config, conversation_id, message_index"
    ).fetchall():
        out.setdefault(f"{config}/{conversation}", []).append((role, content))
    con.close()
    return out


@pytest.mark.parametrize("name", sorted(FORMATS))
def test_each_format_loads_with_datasets(sample_exports, name):
    result = sample_exports[name]
    ds = datasets.load_dataset("json", data_files=str(result.path), split="train")
    assert len(ds) == result.manifest["rows_out"] > 0
    assert set(FORMATS[name].columns) <= set(ds.column_names)


def test_manifest_reconciles_rows(sample_exports):
    for name in FORMATS:
        result = sample_exports[name]
        m = result.manifest
        assert m["rows_in"] == m["rows_out"] + sum(m["excluded"].values())
        assert len(read_jsonl(result.path)) == m["rows_out"]
        assert m["tokens"]["tokenizer"] == "qwen3"
        assert m["tokens"]["trainable_tokens"] < m["tokens"]["total_tokens"]
        assert m["sha256"] == hashlib.sha256(result.path.read_bytes()).hexdigest()
        assert result.path.read_bytes().endswith(b"}\n")


def test_openai_tool_calls_are_answered_in_order_by_id(sample_exports):
    for record in read_jsonl(sample_exports["openai"].path):
        messages = record["messages"]
        for i, message in enumerate(messages):
            assert message["role"] in ("system", "user", "assistant", "tool")
            if message["role"] == "assistant":
                assert message["weight"] in (0, 1)
                # The last turn may be a call: the row ends on what the model said (its result is trimmed).
                calls = message.get("tool_calls") or [] if i < len(messages) - 1 else []
                following = messages[i + 1 : i + 1 + len(calls)]
                assert [m["role"] for m in following] == ["tool"] * len(calls)
                assert [m["tool_call_id"] for m in following] == [c["id"] for c in calls]
                for call in calls:
                    assert call["type"] == "function"
                    assert isinstance(json.loads(call["function"]["arguments"]), dict)
            if message["role"] == "tool":
                previous = [m for m in messages[:i] if m["role"] == "assistant"][-1]
                assert message["tool_call_id"] in {c["id"] for c in previous.get("tool_calls", [])}
        assert isinstance(record["parallel_tool_calls"], bool)
        assert all(t["type"] == "function" and "name" in t["function"] for t in record.get("tools", []))


def test_trl_tool_calls_are_answered_in_order_by_name(sample_exports):
    for record in read_jsonl(sample_exports["trl-messages"].path):
        messages = record["messages"]
        assert [m["role"] for m in messages if m["role"] != "system"][0] == "user"
        for i, message in enumerate(messages):
            calls = message.get("tool_calls") or [] if i < len(messages) - 1 else []
            if calls:
                following = messages[i + 1 : i + 1 + len(calls)]
                assert [m["role"] for m in following] == ["tool"] * len(calls)
                assert [m["name"] for m in following] == [c["function"]["name"] for c in calls]
                assert all(isinstance(c["function"]["arguments"], dict) for c in calls)


def canonical(text: str) -> tuple:
    """What the round trip preserves: thoughts verbatim, outside text, calls as parsed JSON."""
    thoughts = THINK.findall(text)
    without_think = THINK.sub("", text)
    calls = [json.loads(body.strip(WS)) for body in CALL.findall(without_think)]
    outside = CALL.sub("", without_think).strip(WS)
    return thoughts, outside, [(c["name"], c.get("arguments")) for c in calls]


def render(message: dict) -> str:
    """Hermes text back from TRL's structured fields."""
    parts = []
    if message.get("reasoning_content") is not None:
        parts.append(f"<think>{message['reasoning_content']}</think>")
    if message.get("content"):
        parts.append(message["content"])
    for call in message.get("tool_calls") or []:
        body = json.dumps({"name": call["function"]["name"], "arguments": call["function"]["arguments"]})
        parts.append(f"<tool_call>\n{body}\n</tool_call>")
    return "\n".join(parts)


def test_round_trip_trl_messages_reproduces_each_assistant_turn(sample_db, sample_exports):
    sources = source_messages(sample_db)
    checked = 0
    for record in read_jsonl(sample_exports["trl-messages"].path):
        exported_turns = [m for m in record["messages"] if m["role"] == "assistant"]
        source_turns = [content for role, content in sources[record["id"]] if role == "assistant"]
        for exported, source in zip(exported_turns, source_turns, strict=True):
            assert canonical(render(exported)) == canonical(source)
            checked += 1
    assert checked > 500


def test_prompt_response_response_equals_the_source_exactly(sample_db, sample_exports):
    sources = source_messages(sample_db)
    records = read_jsonl(sample_exports["prompt-response"].path)
    for record in records:
        config, conversation, index = record["id"].rsplit("/", 2)
        role, content = sources[f"{config}/{conversation}"][int(index)]
        assert role == "assistant"
        assert record["response"] == content
        assert record["prompt"].startswith("<|system|>\n") and record["prompt"].endswith("<|assistant|>\n")


def test_trl_prompt_completion_has_one_assistant_completion(sample_exports):
    for record in read_jsonl(sample_exports["trl-prompt-completion"].path)[:300]:
        assert [m["role"] for m in record["completion"]] == ["assistant"]
        assert "user" in [m["role"] for m in record["prompt"]]


def test_sharegpt_uses_llamafactory_tags_and_a_tools_string(sample_exports):
    unparsable = set(sample_exports["sharegpt"].manifest["system_prompt"]["unparsable_tools_ids"])
    for record in read_jsonl(sample_exports["sharegpt"].path):
        assert {t["from"] for t in record["conversations"]} <= {"human", "gpt", "function_call", "tool"}
        assert isinstance(record["system"], str) and isinstance(record["tools"], str)
        if record["tools"]:
            assert isinstance(json.loads(record["tools"]), list)
        else:
            assert record["id"] in unparsable or "<tools>" in record["system"]


def test_malformed_calls_never_become_structured_tool_calls(sample_db, tmp_path):
    results = export(sample_db, tmp_path, ["openai", "trl-messages"], ExportOptions(exclude_malformed=False, tokenizer=None))
    by_format = {r.format: r for r in results}
    assert "malformed_call" not in by_format["openai"].manifest["excluded"]
    weights = [m["weight"] for r in read_jsonl(by_format["openai"].path) for m in r["messages"] if m["role"] == "assistant"]
    assert 0 in weights
    for record in read_jsonl(by_format["trl-messages"].path):
        for message in record["messages"]:
            for call in message.get("tool_calls") or []:
                assert call["function"]["name"] and isinstance(call["function"]["arguments"], dict)


def _expected(db, condition: str) -> int:
    con = duckdb.connect(str(db), read_only=True)
    n = one_row(
        con,
        f"select count(*) from sft_conversation_filters where not has_malformed_call and not has_unpaired_call and {condition}"
    )[0]
    con.close()
    return n


def test_filters_count_what_they_exclude(sample_db, tmp_path):
    options = ExportOptions(exclude_loops=True, exclude_unfinished=True, min_tool_calls=3, tokenizer=None)
    m = export(sample_db, tmp_path, ["trl-messages"], options)[0].manifest
    assert m["excluded"]["stuck_loop"] == _expected(sample_db, "has_stuck_loop")
    assert m["excluded"]["unfinished"] == _expected(sample_db, "not has_stuck_loop and is_unfinished")
    assert m["excluded"]["too_few_tool_calls"] == _expected(
        sample_db, "not has_stuck_loop and not is_unfinished and n_tool_calls < 3"
    )
    kept = read_jsonl(tmp_path / "trl-messages.jsonl")
    assert len(kept) == m["rows_out"] == _expected(sample_db, "not has_stuck_loop and not is_unfinished and n_tool_calls >= 3")


def test_drop_schema_violations_counts_the_conversations_whose_calls_break_their_schema(sample_db, tmp_path):
    options = ExportOptions(exclude_malformed=False, drop_schema_violations=True, tokenizer=None)
    m = export(sample_db, tmp_path, ["trl-messages"], options)[0].manifest
    con = duckdb.connect(str(sample_db), read_only=True)
    try:
        violating = one_row(
            con,
            "select count(distinct conversation_seq) from fct_tool_calls where schema_issue is not null "
            "and schema_issue <> 'no_tool_definitions'",
        )[0]
        unpaired = one_row(
            con,
            "select count(*) from sft_conversation_filters where has_unpaired_call and has_schema_violation",
        )[0]
    finally:
        con.close()
    assert violating > 0, "the sample has calls to unknown tools and calls missing a required argument"
    # The rules run in order: a conversation left out for an unpaired call is counted there.
    assert m["excluded"]["schema_violation"] == violating - unpaired
    assert m["filters"]["drop_schema_violations"] is True
    assert m["rows_out"] + sum(m["excluded"].values()) == m["rows_in"]


def test_a_conversation_with_nothing_to_render_is_counted_not_exported(kimi_only_db, tmp_path):
    con = duckdb.connect(str(kimi_only_db), read_only=True)
    conversations = one_row(con, "select count(*) from fct_conversations")[0]
    con.close()
    for result in export(kimi_only_db, tmp_path, ["trl-messages", "openai"], ExportOptions(tokenizer=None)):
        m = result.manifest
        assert m["rows_in"] == conversations and m["excluded"]["no_messages"] == 1
        ids = result.extra_paths[0].read_text().split() if result.extra_paths else [r["id"] for r in read_jsonl(result.path)]
        assert "kimi/kimi-observer-only" not in ids


def test_config_and_category_filters(sample_db, tmp_path):
    options = ExportOptions(configs=["kimi"], categories=["Scheduling"], tokenizer=None)
    m = export(sample_db, tmp_path, ["sharegpt"], options)[0].manifest
    con = duckdb.connect(str(sample_db), read_only=True)
    expected = one_row(
        con,
        "select count(*) from sft_sharegpt where source_config = 'kimi' and category = 'Scheduling' "
        "and not has_malformed_call"
    )[0]
    con.close()
    assert m["rows_out"] == expected > 0


def test_max_tokens_excludes_and_counts_never_truncates(sample_db, tmp_path):
    m = export(sample_db, tmp_path, ["trl-messages"], ExportOptions(max_tokens=8000))[0].manifest
    assert m["excluded"]["over_max_tokens"] == m["tokens"]["over_max_tokens"] > 0
    assert m["tokens"]["max_total_tokens"] <= 8000
    assert 0 < m["tokens"]["share_over_max_tokens"] < 1


def test_dedup_drops_exact_duplicates(kimi_only_db, tmp_path):
    plain = export(kimi_only_db, tmp_path / "a", ["sharegpt"], ExportOptions(tokenizer=None))[0].manifest
    deduped = export(kimi_only_db, tmp_path / "b", ["sharegpt"], ExportOptions(tokenizer=None, dedup=True))[0].manifest
    assert deduped["excluded"].get("duplicate") == 1
    assert deduped["rows_out"] == plain["rows_out"] - 1


def test_redaction_removes_planted_secrets(sample_db, tmp_path):
    plain = export(sample_db, tmp_path / "plain", ["openai"], ExportOptions(tokenizer=None))[0]
    redacted = export(sample_db, tmp_path / "redacted", ["openai"], ExportOptions(tokenizer=None, redact=True))[0]
    plain_text = plain.path.read_text(encoding="utf-8")
    redacted_text = redacted.path.read_text(encoding="utf-8")
    for kind, secret in SECRETS:
        needle = secret.split("\n")[0] if kind != "bearer_token" else secret.split()[-1]
        assert needle in plain_text, kind
        assert needle not in redacted_text, kind
        assert f"[REDACTED:{kind}]" in redacted_text, kind
    counts = redacted.manifest["redactions"]
    planted = plain_text.count(SECRETS[0][1])
    assert counts["aws_access_key"] == planted > 0
    assert counts["email"] >= planted
    for line in redacted_text.splitlines():
        json.loads(line)


def test_exports_never_overwrite_without_force(sample_db, tmp_path):
    export(sample_db, tmp_path, ["sharegpt"], ExportOptions(tokenizer=None))
    with pytest.raises(ExportError, match="--force"):
        export(sample_db, tmp_path, ["sharegpt"], ExportOptions(tokenizer=None))
    export(sample_db, tmp_path, ["sharegpt"], ExportOptions(tokenizer=None), force=True)


def test_unknown_format_is_a_clear_error(sample_db, tmp_path):
    with pytest.raises(ExportError, match="unknown format"):
        export(sample_db, tmp_path, ["alpaca"])


def test_a_full_disk_is_a_clear_error_and_leaves_no_partial_file(sample_db, tmp_path, monkeypatch):
    import reports.exports as export_module

    def write_then_fail(con, fmt, line, path, ids_path=None):
        path.write_bytes(b'{"id": "half a file')
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(export_module, "write_jsonl", write_then_fail)
    with pytest.raises(ExportError, match="No space left on device"):
        export(sample_db, tmp_path, ["sharegpt"], ExportOptions(tokenizer=None))
    assert not any(p.name.endswith((".jsonl", ".partial")) for p in tmp_path.iterdir())


def test_running_out_of_memory_is_a_clear_error_not_a_traceback(sample_db, tmp_path):
    result = run_cli(
        "export", "--db", str(sample_db), "--out", str(tmp_path / "out"), "--tokenizer", "none",
        env={"TRACES_MEMORY_LIMIT": "8MB"},
    )
    assert result.returncode != 0
    assert "ran out of memory" in result.stderr and "TRACES_MEMORY_LIMIT" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize("name", ["trl-messages", "trl-prompt-completion"])
def test_many_batches_written_concurrently_give_the_same_file_as_one(sample_db, tmp_path, monkeypatch, name):
    from reports.exports import selection

    one = export(sample_db, tmp_path / "one", [name], ExportOptions(tokenizer=None))[0]
    # About 45 batches (two at a time for conversation-level formats), cut by size.
    monkeypatch.setattr(selection, "BATCH_CHARS", one.path.stat().st_size // 45)
    many = export(sample_db, tmp_path / "many", [name], ExportOptions(tokenizer=None))[0]
    assert many.path.read_bytes() == one.path.read_bytes()
    assert many.manifest["sha256"] == one.manifest["sha256"] == hashlib.sha256(one.path.read_bytes()).hexdigest()
    ids = [row["id"] for row in read_jsonl(many.path)]
    assert len(ids) == one.manifest["rows_out"] > 7
    # Conversations come out in ingest order (batches are ranges of conversation_seq).
    con = duckdb.connect(str(sample_db), read_only=True)
    ingest_order = [
        key for (key,) in con.execute(
            "select source_config || '/' || conversation_id from fct_conversations order by conversation_seq"
        ).fetchall()
    ]
    con.close()
    place = {key: i for i, key in enumerate(ingest_order)}
    places = [place["/".join(i.split("/")[:2])] for i in ids]
    assert places == sorted(places) and len(set(places)) > 7


def _scan_filters(plan: list[dict]) -> dict[str, str]:
    """Each table the plan scans, with its pushed-down filters as text."""
    found: dict[str, str] = {}

    def walk(node: dict) -> None:
        info = node.get("extra_info", {})
        if "SCAN" in node.get("name", "") and info.get("Table"):
            table = info["Table"].split(".", 1)[1]  # without the catalog
            found[table] = found.get(table, "") + json.dumps(info.get("Filters", ""))
        for child in node.get("children", []):
            walk(child)

    for node in plan:
        walk(node)
    return found


@pytest.mark.parametrize("name", ["trl-messages", "openai", "sharegpt", "trl-prompt-completion", "prompt-response"])
def test_an_export_batch_reaches_every_scan_of_a_conversation_table_with_its_range(
    sample_db, tmp_path, monkeypatch, name
):
    # Batches are ranges of conversation_seq. A scan the range does not reach reads its whole table
    # for every batch: with random ids, ranges of ids did that to raw (60,000 rows: export 112 s, not 33 s).
    from foundation import warehouse
    from reports.exports import selection, writer

    monkeypatch.setattr(selection, "BATCH_CONVERSATIONS", 20)  # a range inside the table's
    fmt = FORMATS[name]
    con = warehouse.connect_with_scratch(sample_db, tmp_path / "scratch.duckdb")
    try:
        selection.stage_rows(con, fmt, ExportOptions(tokenizer=None))
        batches = selection.batches(con, fmt)
        batch = batches[len(batches) // 2]
        query = f"select {writer.json_line(fmt)} from {fmt.model} as sft where {batch}"
        plan = json.loads(con.execute("explain (format json) " + query).fetchall()[0][1])
    finally:
        con.close()
    scans = _scan_filters(plan)
    assert "raw.messages_written" in scans
    unreached = {
        table for table, filters in scans.items()
        # Tables of distinct toolsets and system prompts: small, keyed by hash.
        if table not in ("raw.toolsets", "raw.system_prompts", "intermediate.int_system_prompts")
        and "conversation_seq" not in filters
    }
    assert not unreached


def _clusters(db: Path) -> dict[int, tuple]:
    con = duckdb.connect(str(db), read_only=True)
    try:
        return {
            row[0]: row[1:]
            for row in con.execute(
                "select conversation_seq, task_cluster_id, task_keep_rank, trajectory_cluster_id, trajectory_keep_rank "
                "from dim_near_duplicate_clusters"
            ).fetchall()
        }
    finally:
        con.close()


def _exported_seqs(db: Path, path: Path) -> list[int]:
    ids = [json.loads(line)["id"] for line in path.read_text(encoding="utf-8").splitlines()]
    con = duckdb.connect(str(db), read_only=True)
    try:
        keys = dict(con.execute("select source_config || '/' || conversation_id, conversation_seq from fct_conversations").fetchall())
    finally:
        con.close()
    return [keys[i] for i in ids]


def test_dedup_near_keeps_one_conversation_per_trajectory_cluster(kimi_only_db, tmp_path):
    db = kimi_only_db
    exact = export(db, tmp_path / "exact", ["trl-messages"], ExportOptions(tokenizer=None, dedup="exact"))[0]
    # The reruns thought otherwise: only the copy of the last row has the same content.
    assert exact.manifest["excluded"]["duplicate"] == 1
    plain = export(db, tmp_path / "a", ["trl-messages"], ExportOptions(tokenizer=None))[0]
    near = export(db, tmp_path / "b", ["trl-messages"], ExportOptions(tokenizer=None, dedup="near"))[0]
    clusters = _clusters(db)
    kept = _exported_seqs(db, near.path)
    trajectory_clusters = [clusters[seq][2] for seq in kept if clusters[seq][2] is not None]
    assert len(trajectory_clusters) == len(set(trajectory_clusters))
    left_out = near.manifest["excluded"].get("near_duplicate", 0)
    # Five pairs (four reruns, one copy); fewer when another filter already left out one of a pair.
    assert 3 <= left_out <= 5 and near.manifest["rows_out"] == plain.manifest["rows_out"] - left_out
    # Every cluster the plain export had is still there, through its best remaining member.
    plain_clusters = {clusters[seq][2] for seq in _exported_seqs(db, plain.path)} - {None}
    assert set(trajectory_clusters) == plain_clusters
    assert near.manifest["filters"]["dedup"] == "near"


def test_dedup_task_keeps_at_most_n_per_task_cluster(sample_db, tmp_path):
    plain = export(sample_db, tmp_path / "a", ["trl-messages"], ExportOptions(tokenizer=None))[0]
    two = export(sample_db, tmp_path / "b", ["trl-messages"], ExportOptions(tokenizer=None, dedup="task", per_task=2))[0]
    clusters = _clusters(sample_db)
    per_cluster = Counter(clusters[seq][0] for seq in _exported_seqs(sample_db, two.path))
    assert max(per_cluster.values()) == 2
    available = Counter(clusters[seq][0] for seq in _exported_seqs(sample_db, plain.path))
    assert all(per_cluster[c] == min(n, 2) for c, n in available.items())
    assert two.manifest["excluded"]["over_per_task"] == plain.manifest["rows_out"] - two.manifest["rows_out"] > 0
    # In each cluster, the ones kept come first in its keep order among what the export selected.
    selected: dict[str, list[int]] = {}
    for seq in _exported_seqs(sample_db, plain.path):
        selected.setdefault(clusters[seq][0], []).append(clusters[seq][1])
    exported: dict[str, list[int]] = {}
    for seq in _exported_seqs(sample_db, two.path):
        exported.setdefault(clusters[seq][0], []).append(clusters[seq][1])
    assert all(sorted(exported[c]) == sorted(ranks)[:2] for c, ranks in selected.items())


def test_dedup_mode_must_be_known(tmp_path):
    with pytest.raises(ExportError, match="--dedup fuzzy"):
        ExportOptions(dedup="fuzzy")
    with pytest.raises(ExportError, match="--per-task 0"):
        ExportOptions(dedup="task", per_task=0)
    assert ExportOptions(dedup=True).dedup == "exact"


def _lines_by_id(result) -> list[tuple[str, bytes]]:
    lines = result.path.read_bytes().splitlines(keepends=True)
    if result.extra_paths and result.extra_paths[0].name.endswith(".ids.txt"):
        ids = result.extra_paths[0].read_text(encoding="utf-8").splitlines()
    else:
        ids = [json.loads(line)["id"] for line in lines]
    assert len(ids) == len(lines)
    return list(zip(ids, lines, strict=True))


@pytest.mark.parametrize(
    ("name", "options"),
    [
        ("trl-messages", {}),
        ("openai", {}),  # ids in a sidecar file
        ("trl-messages", {"max_tokens": 8000}),
        ("openai", {"max_tokens": 8000}),
        ("sharegpt", {"dedup": "exact", "max_tokens": 12000}),
    ],
)
def test_a_measured_export_writes_the_lines_it_measured_less_the_rows_measuring_left_out(
    kimi_only_db, tmp_path, name, options
):
    # Measured rows are written as they are measured (spool.py); rows a later rule leaves out are
    # taken out of the written file. Every line must be the one the unmeasured export writes.
    plain = export(kimi_only_db, tmp_path / "plain", [name], ExportOptions(tokenizer=None, **options_without_tokens(options)))[0]
    measured = export(kimi_only_db, tmp_path / "measured", [name], ExportOptions(**options))[0]
    plain_lines = _lines_by_id(plain)
    measured_lines = _lines_by_id(measured)
    assert len(measured_lines) == measured.manifest["rows_out"]
    assert set(measured_lines) <= set(plain_lines)  # the same lines, each with its own id
    kept = {sample_id for sample_id, _ in measured_lines}
    assert [pair for pair in plain_lines if pair[0] in kept] == measured_lines  # in the same order
    assert measured.manifest["sha256"] == hashlib.sha256(measured.path.read_bytes()).hexdigest()
    if options.get("max_tokens"):
        assert 0 < len(measured_lines) < len(plain_lines)
        assert measured.manifest["excluded"]["over_max_tokens"] > 0
    else:
        assert measured.path.read_bytes() == plain.path.read_bytes()
    assert not [p for p in (tmp_path / "measured").iterdir() if p.name.endswith((".partial", ".kept"))]


def options_without_tokens(options: dict) -> dict:
    return {key: value for key, value in options.items() if key != "max_tokens"}


def test_a_measured_redacted_export_counts_the_text_as_given_and_writes_it_redacted(sample_db, tmp_path):
    # With --redact the lines are measured without being written, then built again, redacted.
    plain = export(sample_db, tmp_path / "plain", ["openai"])[0]
    redacted = export(sample_db, tmp_path / "redacted", ["openai"], ExportOptions(redact=True))[0]
    assert redacted.manifest["tokens"] == plain.manifest["tokens"]
    assert redacted.manifest["rows_out"] == plain.manifest["rows_out"]
    assert redacted.manifest["redactions"]["aws_access_key"] > 0
    assert SECRETS[0][1] in plain.path.read_text(encoding="utf-8")
    assert SECRETS[0][1] not in redacted.path.read_text(encoding="utf-8")
    assert redacted.manifest["sha256"] == hashlib.sha256(redacted.path.read_bytes()).hexdigest()
    assert sorted(p.name for p in (tmp_path / "redacted").iterdir()) == sorted(p.name for p in (tmp_path / "plain").iterdir())
