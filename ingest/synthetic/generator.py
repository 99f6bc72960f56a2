"""Deterministic generator of real-shaped rows in the hermes-agent-reasoning-traces schema.

Every row has the dataset's exact columns: ``id``, ``conversations`` (list of
``{from, value}``), ``tools`` (JSON text), ``category``, ``subcategory``,
``task``. The first rows of each config carry one forced quirk each (see
``QUIRKS``) so that any sample of a few dozen rows or more exercises every
oddity of the real data; later rows draw quirks at realistic rates.

Calibration. The shapes below aim at ``TARGETS``, taken from the dataset card of
``lambda/hermes-agent-reasoning-traces`` (rows, turns and tool calls per config; the kimi tool
mix; the share of parallel turns and of rows that fail and recover) and from measurements of
real rows reported in the project's issue #17 (row, call-body and tool-output sizes). Sizes
come from log-normal draws per tool: a ``terminal`` call is usually one short command and
sometimes a whole script, ``write_file`` carries a whole file and ``patch`` a diff; file reads,
browser snapshots and long command output make the tail of tool outputs.
``tests/test_generator_calibration.py`` holds the generator to these figures within stated
bands; ``ingest.synthetic.calibration.describe`` measures any rows the same way.
"""

from __future__ import annotations

import functools
import json
import math
import random
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np

from ingest.synthetic import catalog

CONFIGS: tuple[str, ...] = ("kimi", "glm-5.1")

# What the generator aims at. Per config: rows in the real dataset (for reference), mean
# messages ("turns") and mean tool calls per row (dataset card).
TARGETS: dict[str, Any] = {
    "kimi": {"rows": 7_646, "mean_turns": 24.3, "mean_tool_calls": 13.9},
    "glm-5.1": {"rows": 7_055, "mean_turns": 19.1, "mean_tool_calls": 9.7},
    # Across both configs (dataset card; issue #17's measurements of real rows).
    "share_of_parallel_turns": 0.16,  # assistant turns with calls that make several at once
    "share_of_rows_failing_then_recovering": 0.81,
    "mean_row_kb": 110,  # JSON of a whole row; real rows are 55 to 350 KB
    "system_prompt_and_tools_kb": 25,
    "mean_call_chars": 1_050,  # the body between <tool_call> tags
    "p99_call_chars": 13_000,
    "mean_output_chars": 1_000,  # the tool's "content", as JSON text
    "max_output_chars_at_least": 25_000,
}

# Calls per tool in the kimi config (dataset card); the tools after clarify share a long tail.
TOOL_MIX: dict[str, int] = {
    "terminal": 45_573,
    "read_file": 11_848,
    "search_files": 10_685,
    "write_file": 8_911,
    "browser_snapshot": 3_003,
    "browser_navigate": 2_548,
    "browser_scroll": 1_806,
    "browser_click": 1_769,
    "patch": 1_589,
    "process": 810,
    "browser_vision": 662,
    "todo": 466,
    "browser_close": 348,
    "browser_type": 239,
    "browser_press": 203,
    "session_search": 159,
    "skill_view": 148,
    "skills_list": 107,
    "clarify": 60,
    "execute_code": 55,
    "memory": 50,
    "browser_back": 40,
    "delegate_task": 30,
    "cronjob": 20,
}

# Each forced quirk lands on exactly one early row per config.
QUIRKS: tuple[str, ...] = (
    "empty_think",
    "unclosed_think",
    "parallel_calls",
    "invalid_json_call",
    "unclosed_call",
    "array_call",
    "unknown_tool",
    "missing_required_argument",
    "iteration_limit",
    "no_tool_calls",
    "traceback_output",
    "budget_warning",
    "exit_zero_says_failed",
    "plain_string_content",
    "success_false",
    "nonzero_exit",
    "stuck_loop",
    "planted_secrets",
    "text_around_calls",
    "ends_on_human_followup",
    "system_prompt_with_other_text",
    "custom_system_prompt",
    "unparsable_tools",
)

SAMPLE_ROWS = 300
SAMPLE_SEED = 7

# Steps (assistant turns that call tools) per row: a gamma draw around the config's mean,
# capped by the agent's iteration limit; a row that reaches the cap ends on the limit message.
_MEAN_STEPS = {"kimi": 12.2, "glm-5.1": 9.3}
_MAX_STEPS = 26
# Calls in a parallel turn: glm-5.1 makes fewer at once (its calls per turn, from the card's
# turns and calls, are lower); six at most.
_PARALLEL_WIDTHS = {"kimi": (2, 2, 2, 3, 3, 4, 6), "glm-5.1": (2, 2, 2, 2, 3)}
# glm-5.1 often thinks nothing at all: ``<think>\n</think>``.
_EMPTY_THINK = {"kimi": 0.0, "glm-5.1": 0.35}
# Median characters and log-normal sigma of a thought.
_THOUGHT_SIZE = {"kimi": (4_300, 0.9), "glm-5.1": (4_200, 0.9)}


@dataclass(frozen=True)
class _Size:
    """A log-normal size: ``median`` characters, spread ``sigma``, at most ``cap``."""

    median: float
    sigma: float
    cap: int = 60_000

    def draw(self, rng: random.Random) -> int:
        return max(1, min(self.cap, int(rng.lognormvariate(math.log(self.median), self.sigma))))


# Tool outputs by tool; tools not named produce short confirmations.
_OUTPUT_SIZE: dict[str, _Size] = {
    "terminal": _Size(260, 1.5),
    "read_file": _Size(1_100, 1.2),
    "search_files": _Size(500, 1.2),
    "browser_snapshot": _Size(4_000, 0.9),
    "browser_navigate": _Size(2_500, 0.9),
    "browser_vision": _Size(500, 0.6),
    "process": _Size(400, 1.2),
    "execute_code": _Size(300, 1.2),
    "session_search": _Size(800, 0.8),
    "skill_view": _Size(1_500, 0.7),
}


@functools.cache
def _corpus() -> str:
    """About 4 MB of code- and log-like text that slices are cut from: cheap to take, and rows
    differ because each slice starts at a random place. No ``<`` (no tags) and no ``@``."""
    words = (
        "def class return import from self None True False if else elif for while in not and or "
        "try except raise with as lambda yield async await print len range dict list str int "
        "config value result status request response handler module cache index table column "
        "error warning info debug user path file line data items key name count total offset "
        "limit query select where group order by join left inner update insert delete create "
        "src app tests utils main server client api v1 orders users sessions tmp var log etc "
        "nginx docker compose build run test pytest pip install npm git commit push pull branch "
        "merge diff status HEAD origin README.md setup.py pyproject.toml requirements.txt "
        "0 1 2 3 4 5 7 8 10 12 16 32 42 64 100 128 200 256 404 500 1024 2048 8080 "
        "= == != += -> => : ; , . ( ) [ ] { } \" ' # // /* */ \\n \\t - + * / % | & ~ ^ ! ?"
    ).split()
    gen = np.random.default_rng(20_240_417)
    tokens = np.array(words, dtype=object)[gen.integers(0, len(words), 800_000)]
    lines = np.split(tokens, np.cumsum(gen.integers(4, 16, 100_000)))
    indents = gen.integers(0, 4, len(lines))
    return "\n".join("    " * indent + " ".join(line) for indent, line in zip(indents, lines, strict=True) if len(line))


def _text(rng: random.Random, chars: int) -> str:
    corpus = _corpus()
    if chars >= len(corpus):
        return (corpus * (chars // len(corpus) + 1))[:chars]
    start = rng.randrange(len(corpus) - chars)
    return corpus[start : start + chars]


@dataclass
class _Call:
    name: str
    arguments: dict
    raw: str | None = None  # when set, the literal call body (malformed on purpose)
    closed: bool = True


class _Conversation:
    """Builds one conversation turn by turn with a private random stream."""

    def __init__(self, rng: random.Random, config: str, quirk: str | None) -> None:
        self.rng = rng
        self.config = config
        self.quirk = quirk
        self.turns: list[dict[str, str]] = []
        self.call_counter = 0
        self.last_error = False

    # -- text pieces -------------------------------------------------------
    def think(self, after_error: bool = False, force_empty: bool = False) -> str:
        rng = self.rng
        if force_empty or (not after_error and rng.random() < _EMPTY_THINK[self.config]):
            return "<think>\n</think>"
        sentences = list(rng.sample(catalog.THOUGHT_SENTENCES, rng.randint(1, 3)))
        if after_error:
            sentences.insert(0, rng.choice(catalog.ERROR_THOUGHTS))
        median, sigma = _THOUGHT_SIZE[self.config]
        body = " ".join(sentences) + " " + _text(rng, _Size(median, sigma, cap=20_000).draw(rng))
        if self.config == "kimi":
            return f"<think> {body}</think>"
        return f"<think>\n{body}\n</think>"

    def call_id(self, tool: str) -> str:
        self.call_counter += 1
        if self.config == "kimi":
            return f"functions.{tool}:{self.call_counter - 1}"
        return "chatcmpl-tool-" + "".join(self.rng.choice("0123456789abcdef") for _ in range(16))

    def path(self) -> str:
        return self.rng.choice(
            ["src/app.py", "README.md", "config/settings.yaml", "tests/test_utils.py", "/var/log/nginx/error.log",
             "src/api/orders.py", "scripts/deploy.sh", "docs/index.md", "package.json", "Dockerfile"]
        )

    def arguments(self, tool: str) -> dict:
        rng = self.rng
        if tool == "terminal":
            if rng.random() < 0.22:  # a script: heredoc, python -c, a pipeline of many steps
                return {"command": "cat > /tmp/run.sh << 'EOF'\n" + _text(rng, _Size(1_300, 1.0, 30_000).draw(rng)) + "\nEOF\nbash /tmp/run.sh"}
            command = rng.choice(["ls -la", "git status", "python -m pytest -q", "pip install -r requirements.txt",
                                  "cat /etc/os-release", "grep -rn TODO src | head -50", "systemctl status nginx"])
            return {"command": command + (" && " + _text(rng, _Size(40, 0.8).draw(rng)).replace("\n", " ") if rng.random() < 0.5 else "")}
        if tool == "write_file":
            return {"path": self.path(), "content": _text(rng, _Size(3_700, 1.0, 60_000).draw(rng))}
        if tool == "patch":
            size = _Size(700, 1.0, 30_000)
            return {"path": self.path(), "old_string": _text(rng, size.draw(rng)), "new_string": _text(rng, size.draw(rng))}
        if tool == "todo":
            return {"todos": [{"id": i, "content": _text(rng, rng.randint(20, 90)).replace("\n", " "), "status": "pending"}
                              for i in range(rng.randint(2, 8))]}
        simple: dict[str, dict] = {
            "read_file": {"path": self.path(), "offset": 1, "limit": 200},
            "search_files": {"pattern": rng.choice(["TODO", "def main", "v1/orders", "import pandas"]), "path": ".", "file_glob": "*.py"},
            "process": {"action": "poll", "session_id": f"proc_{rng.randint(100, 999)}"},
            "execute_code": {"code": _text(rng, _Size(400, 0.8).draw(rng))},
            "memory": {"action": "add", "content": "User prefers concise answers."},
            "session_search": {"query": "deployment notes"},
            "skill_view": {"name": "deploy-flask"},
            "delegate_task": {"goal": "Migrate the orders table", "context": "Postgres 15"},
            "cronjob": {"action": "create", "schedule": "every 2h", "prompt": "Check disk usage"},
            "clarify": {"question": "Which environment should I use?"},
            "browser_navigate": {"url": rng.choice(["https://duckdb.org/news", "https://example.com/contact", "https://wiki.example.org/oncall"])},
            "browser_click": {"ref": f"@e{rng.randint(1, 60)}"},
            "browser_type": {"ref": f"@e{rng.randint(1, 60)}", "text": "Jane Doe"},
            "browser_scroll": {"direction": rng.choice(["up", "down"])},
            "browser_press": {"key": "Enter"},
            "browser_vision": {"question": "Is there a pricing table?"},
        }
        return dict(simple.get(tool, {}))

    def output(self, tool: str) -> str:
        size = _OUTPUT_SIZE.get(tool)
        return _text(self.rng, size.draw(self.rng)) if size else "ok"

    def response_content(self, tool: str, arguments: dict, fail: bool = False) -> tuple[object, bool]:
        """Return (content, is_error) for a well-formed call; ``fail`` makes it an error."""
        rng = self.rng
        if tool == "terminal":
            if fail:
                code = rng.choice([1, 2, 127])
                msg = {127: "bash: foo: command not found", 1: "Error: tests failed", 2: "usage error"}[code]
                return {"output": msg + "\n" + self.output(tool), "exit_code": code, "error": None}, True
            return {"output": self.output(tool), "exit_code": 0, "error": None}, False
        if fail and tool.startswith("browser_"):
            return {"success": False, "error": "Timeout 30000ms exceeded waiting for element"}, True
        if fail and tool in ("read_file", "write_file", "patch", "search_files"):
            return {"success": False, "error": f"File not found: {arguments.get('path', 'unknown')}"}, True
        if fail:
            return {"success": False, "error": f"{tool} failed: invalid arguments"}, True
        if tool == "read_file":
            text = self.output(tool)
            return {"content": text, "total_lines": text.count("\n") + 1, "truncated": False}, False
        if tool == "search_files":
            return {"matches": self.output(tool), "total_count": rng.randint(0, 40)}, False
        if tool.startswith("browser_"):
            return {"success": True, "snapshot": self.output(tool)}, False
        if tool in ("process", "execute_code"):
            return {"output": self.output(tool), "error": None}, False
        if tool in ("write_file", "patch"):
            return {"success": True, "bytes_written": len(json.dumps(arguments))}, False
        return {"success": True, "result": self.output(tool)}, False

    # -- turns ---------------------------------------------------------------
    def add(self, role: str, value: str) -> None:
        self.turns.append({"from": role, "value": value})

    def render_call(self, call: _Call) -> str:
        body = call.raw if call.raw is not None else json.dumps({"name": call.name, "arguments": call.arguments}, ensure_ascii=False)
        return f"<tool_call>\n{body}\n</tool_call>" if call.closed else f"<tool_call>\n{body}"

    def assistant_turn(self, calls: list[_Call], before: str = "", after: str = "", thought: str | None = None) -> None:
        thought = thought if thought is not None else self.think(after_error=self.last_error)
        parts = [thought]
        if before:
            parts.append(before)
        parts.extend(self.render_call(c) for c in calls)
        text = "\n".join(parts)
        if after:
            text += "\n" + after
        self.add("gpt", text)

    def tool_turn(self, calls: list[_Call], contents: list[tuple[object, bool]]) -> None:
        blocks = []
        for call, (content, _) in zip(calls, contents, strict=True):
            payload = {"tool_call_id": self.call_id(call.name), "name": call.name, "content": content}
            blocks.append(f"<tool_response>\n{json.dumps(payload, ensure_ascii=False)}\n</tool_response>")
        self.add("tool", "\n".join(blocks))
        self.last_error = any(is_error for _, is_error in contents)

    def step(self, tools: list[str], weights: list[float], width: int, fail: bool = False) -> None:
        names = self.rng.choices(tools, weights, k=width)
        calls = [_Call(name, self.arguments(name)) for name in names]
        self.assistant_turn(calls)
        self.tool_turn(calls, [self.response_content(c.name, c.arguments, fail and i == 0) for i, c in enumerate(calls)])


def _tools_json(config: str, tool_names: tuple[str, ...]) -> str:
    schemas = [catalog.TOOLS_BY_NAME[name].json_schema() for name in tool_names]
    if config == "kimi":
        return json.dumps([{"type": "function", "function": s} for s in schemas], ensure_ascii=False)
    return json.dumps(schemas, ensure_ascii=False)


def _system_prompt(tools_json: str, quirk: str | None) -> str:
    if quirk == "custom_system_prompt":
        return catalog.CUSTOM_SYSTEM_PROMPT.format(tools=tools_json)
    prompt = catalog.SYSTEM_PROMPT_HEAD + tools_json + catalog.SYSTEM_PROMPT_TAIL
    if quirk == "system_prompt_with_other_text":
        return catalog.SYSTEM_PROMPT_PERSONA + prompt + catalog.SYSTEM_PROMPT_HOUSE_RULES
    return prompt


def _task(rng: random.Random, subcategory: str) -> tuple[str, str]:
    opener = rng.choice(catalog.TASK_OPENERS[subcategory])
    prompt = opener + rng.choice(catalog.TASK_DETAILS)
    first_sentence = prompt.split(". ")[0].split("? ")[0]
    return prompt, first_sentence[:100]


def _tool_weights(offered: tuple[str, ...], category: str) -> tuple[list[str], list[float]]:
    """The global mix restricted to the tools a row offers; a category's own tools weigh more.
    Browser tools are offered in about half the rows, so their weight there is doubled."""
    tools = [t for t in offered if t in TOOL_MIX]
    preferred = set(catalog.CATEGORY_TOOLS[category])
    weights = [TOOL_MIX[t] * (2.0 if t.startswith("browser_") else 1.0) * (1.5 if t in preferred else 1.0) for t in tools]
    return tools, weights


def _apply_quirk(conv: _Conversation, quirk: str, tools: tuple[str, ...]) -> None:
    """Append the turns that make ``quirk`` happen, mid-conversation."""
    if quirk == "empty_think":
        call = _Call(tools[0], conv.arguments(tools[0]))
        conv.assistant_turn([call], thought="<think>\n</think>")
        conv.tool_turn([call], [conv.response_content(call.name, call.arguments)])
    elif quirk == "parallel_calls":
        calls = [_Call(t, conv.arguments(t)) for t in (tools * 6)[:6]]
        conv.assistant_turn(calls)
        conv.tool_turn(calls, [conv.response_content(c.name, c.arguments) for c in calls])
    elif quirk == "text_around_calls":
        calls = [_Call(t, conv.arguments(t)) for t in tools[:2]]
        conv.assistant_turn(calls, before="Let me check two things at once.", after="I'll wait for both results.")
        conv.tool_turn(calls, [conv.response_content(c.name, c.arguments) for c in calls])
    elif quirk == "invalid_json_call":
        bad = _Call("terminal", {}, raw='{"name": "terminal", "arguments": {"command": "ls -la"')
        conv.assistant_turn([bad])
        conv.tool_turn([bad], [({"success": False, "error": "Invalid JSON in tool call: Expecting ',' delimiter"}, True)])
    elif quirk == "array_call":
        bad = _Call("read_file", {}, raw='[{"name": "read_file", "arguments": {"path": "README.md"}}]')
        conv.assistant_turn([bad])
        conv.tool_turn([bad], [({"success": False, "error": "Tool call must be a JSON object"}, True)])
    elif quirk == "unknown_tool":
        call = _Call("web_search", {"query": "duckdb release notes"})
        conv.assistant_turn([call])
        conv.tool_turn([call], [({"success": False, "error": "Unknown tool: web_search"}, True)])
    elif quirk == "missing_required_argument":
        call = _Call("read_file", {"limit": 50})
        conv.assistant_turn([call])
        conv.tool_turn([call], [({"success": False, "error": "Missing required argument: path"}, True)])
    elif quirk == "traceback_output":
        # Real traces print emoji in code (characters outside the BMP, written literally in the call's JSON).
        call = _Call("execute_code", {"code": 'print(f"📂 Reading: {path}")\nimport missing_module'})
        trace = 'Traceback (most recent call last):\n  File "<stdin>", line 2, in <module>\nModuleNotFoundError: No module named \'missing_module\''
        conv.assistant_turn([call])
        conv.tool_turn([call], [({"output": trace, "error": None}, True)])
    elif quirk == "budget_warning":
        call = _Call("terminal", {"command": "du -sh ."})
        content = {"output": "1.2G\t.", "exit_code": 0, "error": None, "_budget_warning": "You have used 80% of your iteration budget (24/30)."}
        conv.assistant_turn([call])
        conv.tool_turn([call], [(content, False)])
    elif quirk == "exit_zero_says_failed":
        call = _Call("terminal", {"command": "make check || true"})
        conv.assistant_turn([call])
        conv.tool_turn([call], [({"output": "3 checks FAILED, error: see log", "exit_code": 0, "error": None}, False)])
    elif quirk == "plain_string_content":
        call = _Call("skills_list", {})
        conv.assistant_turn([call])
        conv.tool_turn([call], [("deploy-flask: Deploy a Flask app with gunicorn\nbackup-db: Nightly Postgres backup", False)])
    elif quirk == "success_false":
        call = _Call("write_file", {"path": "/root/protected.txt", "content": "x"})
        conv.assistant_turn([call])
        conv.tool_turn([call], [({"success": False, "error": "Permission denied: /root/protected.txt"}, True)])
    elif quirk == "nonzero_exit":
        call = _Call("terminal", {"command": "foo --version"})
        conv.assistant_turn([call])
        conv.tool_turn([call], [({"output": "bash: foo: command not found", "exit_code": 127, "error": None}, True)])
    elif quirk == "stuck_loop":
        for _ in range(3):
            call = _Call("terminal", {"command": "git pull"})
            conv.assistant_turn([call])
            conv.tool_turn([call], [({"output": "fatal: could not read Username", "exit_code": 128, "error": None}, True)])
    elif quirk == "planted_secrets":
        call = _Call("read_file", {"path": ".env"})
        secrets = "\n".join(f"{kind.upper()}={value}" for kind, value in catalog.SECRETS)
        conv.assistant_turn([call])
        conv.tool_turn([call], [({"content": secrets, "total_lines": 6, "truncated": False}, False)])


def _ending(conv: _Conversation, quirk: str | None, n_steps: int) -> None:
    rng = conv.rng
    if quirk == "iteration_limit":
        conv.add("human", catalog.ITERATION_LIMIT_MESSAGE.format(n=n_steps))
        return
    if quirk == "unclosed_think":
        conv.add("gpt", conv.think().replace("</think>", "") + " and then I will")
        return
    if quirk == "unclosed_call":
        call = _Call("terminal", {"command": "tail -n 100 app.log"}, closed=False)
        conv.assistant_turn([call])
        return
    answer = rng.choice(catalog.FINAL_ANSWERS)
    conv.add("gpt", conv.think() + "\n" + answer)
    if quirk == "ends_on_human_followup":
        conv.add("human", "Thanks! Can you also check the staging server?")


def _n_steps(rng: random.Random, config: str) -> int:
    return max(1, min(_MAX_STEPS, round(rng.gammavariate(2.0, _MEAN_STEPS[config] / 2.0))))


def _failing_steps(rng: random.Random, n_steps: int) -> set[int]:
    """Steps whose first call fails. Most rows fail somewhere and recover: a later step follows
    every failure."""
    if n_steps < 2 or rng.random() >= 0.93:
        return set()
    return set(rng.sample(range(n_steps - 1), min(n_steps - 1, 1 + int(rng.expovariate(1.2)))))


def generate_row(rng: random.Random, config: str, index: int, quirk: str | None, random_ids: bool = False) -> dict:
    """One row of the dataset schema.

    Ids sort in generation order unless ``random_ids``: then, like uuids or hashes, they do not
    (same rows otherwise), which is what the benchmark needs to show ids do not matter.
    """
    if quirk == "no_tool_calls":
        category = "Conversational"
    else:
        category = rng.choice([c for c in catalog.CATEGORIES if quirk is None or c != "Conversational"])
    subcategory = rng.choice(catalog.CATEGORIES[category])
    prompt, task = _task(rng, subcategory)
    browser = category in ("Browser Automation", "Multi-Tool") or rng.random() < 0.3
    tool_names = catalog.CORE_TOOLS + (catalog.BROWSER_TOOLS if browser else ())
    tools_json = _tools_json(config, tool_names)
    tools, weights = _tool_weights(tool_names, category)

    conv = _Conversation(rng, config, quirk)
    conv.add("system", _system_prompt(tools_json, quirk))
    conv.add("human", prompt)
    n_steps = 0 if category == "Conversational" else _n_steps(rng, config)
    failing = _failing_steps(rng, n_steps)
    quirk_at = rng.randint(0, n_steps) if quirk else -1
    for step in range(n_steps + 1):
        if step == quirk_at and quirk:
            _apply_quirk(conv, quirk, catalog.CATEGORY_TOOLS[category])
        if step < n_steps:
            width = 1 if rng.random() < 1 - TARGETS["share_of_parallel_turns"] else rng.choice(_PARALLEL_WIDTHS[config])
            conv.step(tools, weights, width, fail=step in failing)
    if quirk is None and n_steps >= _MAX_STEPS:
        quirk = "iteration_limit"
    _ending(conv, quirk, n_steps)

    prefix = "kimi" if config == "kimi" else "glm"
    salt = f"{rng.randrange(16**8):08x}"
    return {
        "id": f"{salt}-{prefix}-{index:06d}" if random_ids else f"{prefix}-{index:06d}-{salt}",
        "conversations": conv.turns,
        # A tools value cut short, as a broken export would leave it; the system prompt still lists them.
        "tools": tools_json[: len(tools_json) // 2] if quirk == "unparsable_tools" else tools_json,
        "category": category,
        "subcategory": subcategory,
        "task": task,
    }


def generate(rows: int, seed: int = SAMPLE_SEED, random_ids: bool = False) -> Iterator[tuple[str, dict]]:
    """Yield ``(config, row)`` pairs; configs alternate, quirks are forced early."""
    rng = random.Random(seed)
    per_config_index = {config: 0 for config in CONFIGS}
    for n in range(rows):
        config = CONFIGS[n % len(CONFIGS)]
        index = per_config_index[config]
        per_config_index[config] += 1
        if index < len(QUIRKS):
            quirk: str | None = QUIRKS[index]
        else:
            quirk = rng.choice(QUIRKS) if rng.random() < 0.08 else None
        row_rng = random.Random(rng.getrandbits(64))
        yield config, generate_row(row_rng, config, index, quirk, random_ids)
