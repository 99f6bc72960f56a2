"""Every common trace shape in, one warehouse out (ingest/shapes.py, docs/sources.md).

Fast: the detection rule, each shape's rows in the warehouse's turns, bad input named by turn and
field, and ingests that reconcile. Integration: the sample written in each shape, and our own
exports, ingested into one warehouse and built, give the Hermes sample's figures conversation by
conversation (but for the quirks planted on purpose, counted)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import duckdb
import pytest

from ingest.loader import ingest
from ingest.shapes import ShapeError, ShareGptLayout, detect, detect_row, to_hermes
from ingest.synthetic.sample import write_sample
from tests.helpers import write_jsonl
from tests.reference_parser import blocks
from transform.build import build

TOOLS = [{"type": "function", "function": {"name": "read_file", "description": "Read", "parameters": {"type": "object"}}}]


def gpt_text(converted) -> list[tuple[str, str]]:
    return [(t["from"], t["value"]) for t in converted.row["conversations"]]


def test_each_shape_is_told_from_its_row():
    assert detect_row({"id": "a", "conversations": [{"from": "human", "value": "hi"}, {"from": "gpt", "value": "yo"}]}) == "hermes"
    assert detect_row({"conversations": [{"from": "human", "value": "hi"}, {"from": "function_call", "value": "{}"}]}) == "sharegpt"
    assert detect_row({"conversations": [{"from": "human", "value": "hi"}], "system": "be brief"}) == "sharegpt"
    assert detect_row({"messages": [{"role": "user", "content": "hi"}]}) == "openai"
    assert detect_row({"trajectory": json.dumps([{"role": "user", "content": "hi"}])}) == "openai"
    assert detect_row({"messages": [{"role": "assistant", "content": [{"type": "tool_use", "id": "t", "name": "x", "input": {}}]}]}) == "anthropic"
    assert detect_row({"messages": "not json"}) is None and detect_row({"text": "hi"}) is None and detect_row([1]) is None
    assert detect([{"text": "no"}, {"messages": [{"role": "user", "content": "hi"}]}]) == "openai"


def test_an_openai_row_in_turns_pairs_results_with_their_calls():
    row = {
        "uuid": "toucan-1",
        "messages": json.dumps([
            {"role": "system", "content": "You help."},
            {"role": "user", "content": [{"type": "text", "text": "Read "}, {"type": "text", "text": "two files"}]},
            {"role": "assistant", "content": None, "reasoning_content": "Both at once.", "tool_calls": [
                {"id": "c1", "type": "function", "function": {"name": "read_file", "arguments": '{"path": "a"}'}},
                {"id": "c2", "type": "function", "function": {"name": "read_file", "arguments": {"path": "b"}}},
            ]},
            {"role": "tool", "tool_call_id": "c2", "content": "B"},
            {"role": "tool", "tool_call_id": "c1", "content": "A"},
            {"role": "assistant", "reasoning": "", "content": "Done 📂"},
        ]),
        "available_tools": json.dumps(TOOLS),
        "parallel_tool_calls": True,
    }
    converted = to_hermes(row, "openai", "file.jsonl:1")
    turns = gpt_text(converted)
    assert converted.row["id"] == "toucan-1" and json.loads(converted.row["tools"]) == TOOLS
    assert [role for role, _ in turns] == ["system", "human", "gpt", "tool", "gpt"]
    assert turns[1][1] == "Read two files"
    calls = [json.loads(body) for body, closed in blocks(turns[2][1], "tool_call") if closed]
    assert calls == [{"name": "read_file", "arguments": '{"path": "a"}', "id": "c1"}, {"name": "read_file", "arguments": {"path": "b"}, "id": "c2"}]
    assert blocks(turns[2][1], "think") == [("Both at once.", True)]
    # The results in the order of the calls they answer, whatever order they came in.
    assert [json.loads(body)["tool_call_id"] for body, _ in blocks(turns[3][1], "tool_response")] == ["c1", "c2"]
    assert turns[4][1] == "<think></think>Done 📂"  # an empty reasoning is an empty thought
    assert converted.row["parallel_tool_calls"] is True  # kept: the ingest flags it as an extra field
    assert converted.flags == ["shape:openai"]


def test_calls_without_ids_and_the_older_function_call_are_paired_by_position():
    row = {"messages": [
        {"role": "user", "content": "go"},
        {"role": "assistant", "content": "<think>inline</think>ok", "function_call": {"name": "read_file", "arguments": "{not json"}},
        {"role": "function", "name": "read_file", "content": "{\"success\": false, \"error\": \"nope\"}"},
    ]}
    converted = to_hermes(row, "openai", "f.jsonl:7")
    turns = gpt_text(converted)
    assert converted.row["id"] == "f.jsonl:7" and "paired_by_position" in converted.flags
    assert turns[1][1].startswith("<think>inline</think>ok\n<tool_call>")
    [(body, closed)] = blocks(turns[1][1], "tool_call")
    assert closed and '"arguments": {not json}' in body  # invalid JSON stays invalid: a malformed call
    assert json.loads(blocks(turns[2][1], "tool_response")[0][0]) == {"name": "read_file", "content": '{"success": false, "error": "nope"}'}


def test_an_anthropic_row_in_turns_keeps_is_error_and_flags_redacted_thinking():
    row = {
        "id": "claude-1",
        "system": [{"type": "text", "text": "You are Claude Code."}],
        "tools": [{"name": "read_file", "description": "Read", "input_schema": {"type": "object"}}],
        "messages": [
            {"role": "user", "content": "fix it"},
            {"role": "assistant", "content": [
                {"type": "redacted_thinking", "data": "abc"},
                {"type": "thinking", "thinking": "Look first.", "signature": "s"},
                {"type": "text", "text": "Reading."},
                {"type": "tool_use", "id": "toolu_1", "name": "read_file", "input": {"path": "x"}},
            ]},
            {"role": "user", "content": [
                {"type": "tool_result", "tool_use_id": "toolu_1", "content": [{"type": "text", "text": "no such file"}], "is_error": True},
                {"type": "text", "text": "try y"},
            ]},
        ],
    }
    converted = to_hermes(row, "anthropic", "x:1")
    turns = gpt_text(converted)
    assert [role for role, _ in turns] == ["system", "human", "gpt", "tool", "human"]
    assert turns[0][1] == "You are Claude Code." and turns[4][1] == "try y"
    assert blocks(turns[2][1], "think") == [("", True), ("Look first.", True)]
    assert json.loads(blocks(turns[2][1], "tool_call")[0][0]) == {"name": "read_file", "arguments": {"path": "x"}, "id": "toolu_1"}
    assert json.loads(blocks(turns[3][1], "tool_response")[0][0]) == {"tool_call_id": "toolu_1", "content": "no such file", "is_error": True}
    assert json.loads(converted.row["tools"]) == TOOLS
    assert converted.flags == ["redacted_thinking", "shape:anthropic"]


def test_a_sharegpt_row_in_turns_with_the_tags_its_dataset_info_gives():
    layout = ShareGptLayout({"role_tag": "from", "content_tag": "value", "user_tag": "human", "assistant_tag": "gpt",
                             "observation_tag": "tool", "function_tag": "function_call", "system_tag": "system"})
    row = {"id": "s1", "system": "sys", "tools": json.dumps(TOOLS), "conversations": [
        {"from": "human", "value": "two"},
        {"from": "function_call", "value": '<think>plan</think>[{"name": "read_file", "arguments": {"path": "a"}}, {"name": "read_file", "arguments": {"path": "b"}}]'},
        {"from": "tool", "value": "A\n</tool_response>\n<tool_response>\nB"},
        {"from": "function_call", "value": '<think>t</think>\nnow\n<tool_call>[{"name": "read_file", "arguments": {"path": "c"}}]</tool_call>'},
        {"from": "tool", "value": "C"},
        {"from": "gpt", "value": "done"},
    ]}
    turns = gpt_text(to_hermes(row, "sharegpt", "x", layout))
    assert [role for role, _ in turns] == ["system", "human", "gpt", "tool", "gpt", "tool", "gpt"]
    assert turns[2][1].startswith("<think>plan</think>") and len(blocks(turns[2][1], "tool_call")) == 2
    assert [json.loads(b)["content"] for b, _ in blocks(turns[3][1], "tool_response")] == ["A", "B"]
    assert turns[4][1].startswith("<think>t</think>\nnow\n<tool_call>") and len(blocks(turns[4][1], "tool_call")) == 1


@pytest.mark.parametrize(("row", "message"), [
    ({"messages": [{"role": "user", "content": "a"}, {"role": "assistant", "tool_calls": [{"function": {"name": "x", "arguments": 5}}]}]},
     r"turn 1\.tool_calls\[0\]\.function\.arguments is a number, not text or an object"),
    ({"messages": "[{\"role\": \"user\", \"content\": \"a\"}"}, r"messages: a JSON string that does not parse"),
    ({"messages": [{"role": "user", "content": "a"}, {"role": "critic", "content": "b"}]}, r'turn 1\.role is "critic"'),
    ({"messages": [{"role": "user", "content": 7}]}, r"turn 0\.content is a number, not text or a list of parts"),
    ({"messages": [{"role": "user", "content": "a"}], "tools": "{}"}, r"tools is an object, not a list of tool definitions"),
])
def test_a_row_that_cannot_be_written_in_turns_says_which_turn_and_field(row, message):
    with pytest.raises(ShapeError, match=message):
        to_hermes(row, "openai", "x")


def test_content_parts_of_another_type_are_kept_and_flagged():
    row = {"messages": [{"role": "user", "content": [{"type": "text", "text": "see "}, {"type": "image_url", "image_url": {"url": "u"}}]}]}
    converted = to_hermes(row, "openai", "x")
    assert converted.row["conversations"][0]["value"] == 'see {"type": "image_url", "image_url": {"url": "u"}}'
    assert "content_part:image_url" in converted.flags


def test_a_row_of_another_shape_than_its_input_is_refused_naming_both():
    with pytest.raises(ShapeError, match=r"a row of the anthropic shape in an input of the openai shape"):
        to_hermes({"messages": [{"role": "assistant", "content": [{"type": "thinking", "thinking": "x"}]}]}, "openai", "x")


def raw_counts(db: Path) -> tuple[dict, list, list]:
    con = duckdb.connect(str(db), read_only=True)
    try:
        loaded = dict(con.execute("select source_config, count(*) from raw.conversations group by 1").fetchall())
        rejected = con.execute("select source_row, reason from raw.rejected_rows order by 1").fetchall()
        shapes = con.execute("select source_uri, shape from raw.ingest_inputs").fetchall()
        return loaded, rejected, shapes
    finally:
        con.close()


@pytest.mark.parametrize("shape", ["openai", "sharegpt", "anthropic"])
def test_each_shape_of_the_sample_ingests_whole_with_no_options(shape, tmp_path):
    [path, _] = write_sample(40, tmp_path / "in", shape=shape)
    db = tmp_path / "w.duckdb"
    result = ingest(db, [str(path)])
    assert [i.shape for i in result.inputs] == [shape]
    assert result.read == result.loaded == sum(1 for _ in path.open()) and result.rejected == 0
    _, _, shapes = raw_counts(db)
    assert shapes == [(str(path), shape)]


def test_a_mixed_file_loads_its_shape_and_rejects_the_rest_with_the_reason(tmp_path):
    good = {"id": "o1", "messages": [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "yo"}]}
    claude = {"id": "a1", "messages": [{"role": "assistant", "content": [{"type": "thinking", "thinking": "x"}]}]}
    hermes = {"id": "h1", "conversations": [{"from": "human", "value": "hi"}]}
    path = write_jsonl(tmp_path / "mixed.jsonl", [good, claude, hermes, {"id": "o2", "messages": [{"role": "tool", "content": 3}]}])
    with path.open("a") as f:
        f.write("{not json\n")
    db = tmp_path / "w.duckdb"
    result = ingest(db, [str(path)])
    assert (result.read, result.loaded, result.rejected) == (5, 1, 4)
    loaded, rejected, _ = raw_counts(db)
    reasons = dict(rejected)
    assert "a row of the anthropic shape in an input of the openai shape" in reasons[2]
    assert "a row of the hermes shape in an input of the openai shape" in reasons[3]
    assert "turn 0.content is a number" in reasons[4]
    assert "invalid JSON" in reasons[5]


def test_a_forced_shape_rejects_what_is_not_of_it(tmp_path):
    from foundation.errors import NothingLoaded, SourceError

    path = write_jsonl(tmp_path / "o.jsonl", [{"id": "o1", "messages": [{"role": "user", "content": "hi"}]}])
    with pytest.raises(NothingLoaded, match="a row of the openai shape in an input of the anthropic shape"):
        ingest(tmp_path / "w.duckdb", [str(path)], shape="anthropic")
    with pytest.raises(SourceError, match="unknown shape 'gemini'"):
        ingest(tmp_path / "w.duckdb", [str(path)], shape="gemini")


def test_ids_come_from_the_row_else_the_file_beside_it_else_the_line(tmp_path):
    rows = [{"messages": [{"role": "user", "content": f"q{n}"}, {"role": "assistant", "content": "a"}]} for n in range(3)]
    path = write_jsonl(tmp_path / "openai.jsonl", rows)
    db = tmp_path / "w.duckdb"
    ingest(db, [str(path)])
    con = duckdb.connect(str(db), read_only=True)
    assert sorted(r[0] for r in con.execute("select conversation_id from raw.conversations").fetchall()) == [
        "openai.jsonl:1", "openai.jsonl:2", "openai.jsonl:3",
    ]
    con.close()
    (tmp_path / "openai.ids.txt").write_text("kimi/a\nkimi/b\nkimi/c\n")
    db = tmp_path / "again.duckdb"
    ingest(db, [str(path)])
    con = duckdb.connect(str(db), read_only=True)
    assert sorted(r[0] for r in con.execute("select conversation_id from raw.conversations").fetchall()) == ["kimi/a", "kimi/b", "kimi/c"]
    con.close()


# --- the marts, on the sample in every shape and on our own exports ------------------------------

FIGURES = (
    "n_messages", "n_assistant_turns", "n_tool_calls", "n_valid_tool_calls", "n_malformed_calls", "n_tool_responses",
    "n_tool_errors", "max_parallel_width", "n_unanswered_calls", "n_orphan_responses", "n_thoughts",
    "n_thoughts - n_empty_thoughts",
)
SHAPED = ("openai", "sharegpt", "anthropic")
# The generator's first 100 rows of seed 7 are the sample's first 100 (same ids, same rows): a third
# of the sample in each shape is enough to compare, at a third of the build.
SHAPED_ROWS = 100
EXPORTS = ("trl-messages", "openai", "sharegpt")


def figures(db: Path, where: str = "true") -> dict[str, dict[str, int]]:
    """Per conversation, keyed <sample config>/<id>, the figures the shapes must agree on."""
    con = duckdb.connect(str(db), read_only=True)
    try:
        rows = con.execute(
            f"select source_config, conversation_id, {', '.join(FIGURES)} from fct_conversations where {where}"
        ).fetchall()
    finally:
        con.close()
    return {f"{config}/{cid}": dict(zip(FIGURES, values, strict=True)) for config, cid, *values in rows}


def differences(expected: dict, got: dict) -> dict[str, set[str]]:
    out: dict[str, set[str]] = {}
    for key, values in got.items():
        for name, value in values.items():
            if expected[key][name] != value:
                out.setdefault(name, set()).add(key)
    return out


@pytest.fixture(scope="module")
def shapes_db(sample_db, sample_exports, tmp_path_factory) -> Path:
    """One warehouse holding the sample in each shape (config <shape>-<sample config>) and our own
    trl-messages, openai and sharegpt exports of it (config export-<format>)."""
    root = tmp_path_factory.mktemp("shapes")
    db = root / "shapes.duckdb"
    for shape in SHAPED:
        for path in write_sample(SHAPED_ROWS, root / shape, shape=shape):
            ingest(db, [str(path)], config=f"{shape}-{path.parent.name}")
    exports = root / "exports"
    shutil.copytree(sample_exports["trl-messages"].path.parent, exports, ignore=shutil.ignore_patterns("hub"))
    for name in EXPORTS:
        ingest(db, [str(exports / f"{name}.jsonl")], config=f"export-{name}")
    build(db, echo=False)
    return db


def test_every_shape_of_the_sample_gives_the_hermes_figures(sample_db, shapes_db):
    expected = figures(sample_db)
    for shape in SHAPED:
        got = {
            key.removeprefix(f"{shape}-"): values
            for key, values in figures(shapes_db, f"source_config like '{shape}-%'").items()
        }
        assert len(got) == SHAPED_ROWS and set(got) <= set(expected)
        found = differences(expected, got)
        if shape == "openai":  # every seventh row with ids carries one result whose id answers no call
            planted = found.pop("n_orphan_responses")
            assert found.pop("n_tool_responses") == planted and len(planted) >= 5
            assert all(got[k]["n_orphan_responses"] == expected[k]["n_orphan_responses"] + 1 for k in planted)
        if shape == "anthropic":  # every sixth row's first thought is redacted: an empty thought, flagged
            planted = found.pop("n_thoughts - n_empty_thoughts")
            assert len(planted) >= 5
            assert all(got[k]["n_thoughts - n_empty_thoughts"] == expected[k]["n_thoughts - n_empty_thoughts"] - 1 for k in planted)
        assert found == {}, shape


def test_our_own_exports_come_back_with_the_figures_of_their_conversations(sample_db, sample_exports, shapes_db):
    con = duckdb.connect(str(sample_db), read_only=True)
    trimmed = {i for (i,) in con.execute("select sample_id from sft_trl_messages where n_trailing_turns > 0").fetchall()}
    con.close()
    expected = figures(sample_db)
    for name in EXPORTS:
        got = {
            key.removeprefix(f"export-{name}/"): values
            for key, values in figures(shapes_db, f"source_config = 'export-{name}'").items()
        }
        assert len(got) == sample_exports[name].manifest["rows_out"]
        whole = {k: v for k, v in got.items() if k not in trimmed}  # rows the export cut after their last answer
        assert len(whole) > 250
        found = differences(expected, whole)
        # An export writes its own messages (no system turn where the tools say it all, one message per result).
        found.pop("n_messages", None)
        if name == "openai":  # OpenAI's format has no place for the thoughts
            found.pop("n_thoughts", None)
            found.pop("n_thoughts - n_empty_thoughts", None)
        assert found == {}, name


def test_ids_flags_and_errors_of_the_shapes_reach_the_marts(shapes_db):
    con = duckdb.connect(str(shapes_db), read_only=True)
    try:
        ids = con.execute(
            "select count(*) filter (where tool_call_id like 'call_%'), count(*) from fct_tool_calls where source_config like 'openai-%'"
        ).fetchone()
        assert 0 < ids[0] < ids[1]  # three rows in four give ids; the fourth is paired by position
        flags = dict(con.execute(
            "select flag, count(*) from (select unnest(ingest_flags) as flag from fct_conversations "
            "where source_config not like 'export-%') group by 1"
        ).fetchall())
        assert flags["shape:openai"] == flags["shape:anthropic"] == SHAPED_ROWS and flags["redacted_thinking"] >= 10
        # is_error decided the Anthropic results' errors: the same count as the content rules give the Hermes rows.
        errors = dict(con.execute(
            "select split_part(source_config, '-', 1), count(*) from fct_tool_calls where is_error group by 1"
        ).fetchall())
        assert errors["anthropic"] == errors["openai"] == errors["sharegpt"] > 0
    finally:
        con.close()


def test_a_warehouse_of_every_shape_exports_what_the_trainers_read_and_the_explorer_shows_it(shapes_db, tmp_path):
    from markupsafe import escape

    from reports.exports import ExportOptions, export
    from reports.web.app import create_app
    from tests.consumers import convert_sharegpt

    results = {r.format: r for r in export(shapes_db, tmp_path, ["trl-messages", "sharegpt"], ExportOptions(tokenizer=None))}
    rows = [json.loads(line) for line in results["sharegpt"].path.read_text().splitlines()]
    shaped = [r for r in rows if r["id"].split("/")[0].split("-")[0] in SHAPED]
    assert len(shaped) > 2.5 * SHAPED_ROWS  # the three shapes' conversations, as well formed as the Hermes sample's
    converted = convert_sharegpt(tmp_path, "trace_warehouse_sharegpt", rows)
    assert converted.skipped == 0 and len(converted.rows) == len(rows)
    trl = [json.loads(line) for line in results["trl-messages"].path.read_text().splitlines()]
    claude = next(r for r in trl if r["id"].startswith("anthropic-") and any(m.get("reasoning_content") for m in r["messages"]))
    config, conversation_id = claude["id"].split("/", 1)
    page = create_app(shapes_db).test_client().get(f"/conversations/{config}/{conversation_id}")
    thought = next(m["reasoning_content"] for m in claude["messages"] if m.get("reasoning_content"))
    assert page.status_code == 200 and str(escape(thought.strip().split("\n")[0][:30])) in page.get_data(as_text=True)


def test_a_large_file_converted_in_a_worker_process_loads_the_same_rows(tmp_path, monkeypatch):
    from ingest import readers

    [path, _] = write_sample(40, tmp_path / "in", shape="anthropic")
    ingest(tmp_path / "here.duckdb", [str(path)])
    monkeypatch.setattr(readers, "BATCH_BYTES", 200_000)  # blocks of a few rows: the worker's path, block by block
    assert path.stat().st_size > 2 * readers.BATCH_BYTES
    result = ingest(tmp_path / "worker.duckdb", [str(path)])
    assert result.read == result.loaded == sum(1 for _ in path.open())

    def rows(db: Path) -> list[tuple]:
        con = duckdb.connect(str(db), read_only=True)
        try:
            return con.execute(
                "select conversation_id, content_hash, ingest_flags, source_row from raw.conversations order by source_row"
            ).fetchall()
        finally:
            con.close()

    assert rows(tmp_path / "worker.duckdb") == rows(tmp_path / "here.duckdb")
