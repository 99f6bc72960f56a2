"""Deterministic generator of realistic rows in the hermes-agent-reasoning-traces schema.

Every row has the dataset's exact columns: ``id``, ``conversations`` (list of
``{from, value}``), ``tools`` (JSON text), ``category``, ``subcategory``,
``task``. The first rows of each config carry one forced quirk each (see
``QUIRKS``) so that any sample of a few dozen rows or more exercises every
oddity of the real data; later rows draw quirks at realistic rates.
"""

from __future__ import annotations

import json
import random
from collections.abc import Iterator
from dataclasses import dataclass

from ingest import catalog

CONFIGS: tuple[str, ...] = ("kimi", "glm-5.1")

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
)

SAMPLE_ROWS = 300
SAMPLE_SEED = 7


@dataclass
class _Call:
    name: str
    arguments: dict
    raw: str | None = None  # when set, the literal call body (malformed on purpose)
    closed: bool = True


class _Conversation:
    """Builds one conversation turn by turn with a private random stream."""

    def __init__(self, rng: random.Random, config: str, quirk: str | None, padding: int) -> None:
        self.rng = rng
        self.config = config
        self.quirk = quirk
        self.padding = padding
        self.turns: list[dict[str, str]] = []
        self.call_counter = 0
        self.last_error = False

    # -- text pieces -------------------------------------------------------
    def think(self, after_error: bool = False, force_empty: bool = False) -> str:
        rng = self.rng
        if force_empty or (self.config == "glm-5.1" and rng.random() < 0.7 and not after_error):
            return "<think>\n</think>"
        sentences = list(rng.sample(catalog.THOUGHT_SENTENCES, rng.randint(1, 4)))
        if after_error:
            sentences.insert(0, rng.choice(catalog.ERROR_THOUGHTS))
            sentences.extend(rng.sample(catalog.THOUGHT_SENTENCES, 2))
        body = " ".join(sentences)
        if self.config == "kimi":
            return f"<think> {body}</think>"
        return f"<think>\n{body}\n</think>"

    def call_id(self, tool: str) -> str:
        self.call_counter += 1
        if self.config == "kimi":
            return f"functions.{tool}:{self.call_counter - 1}"
        return "chatcmpl-tool-" + "".join(self.rng.choice("0123456789abcdef") for _ in range(16))

    def arguments(self, tool: str) -> dict:
        rng = self.rng
        path = rng.choice(["src/app.py", "README.md", "config/settings.yaml", "tests/test_utils.py", "/var/log/nginx/error.log"])
        by_tool: dict[str, dict] = {
            "terminal": {"command": rng.choice(["ls -la", "git status", "python -m pytest -q", "pip install -r requirements.txt", "cat /etc/os-release", "grep -rn TODO src | head -50", "systemctl status nginx"])},
            "read_file": {"path": path, "limit": 200},
            "write_file": {"path": path, "content": "# generated\nprint('hello')\n" * rng.randint(1, 6)},
            "search_files": {"pattern": rng.choice(["TODO", "def main", "v1/orders", "import pandas"]), "path": "."},
            "patch": {"path": path, "old_string": "timeout=30", "new_string": "timeout=60"},
            "process": {"action": "poll", "session_id": f"proc_{rng.randint(100, 999)}"},
            "execute_code": {"code": "import json\nprint(sum(range(10)))\n"},
            "todo": {"todos": [{"id": i, "content": f"step {i}", "status": "pending"} for i in range(rng.randint(1, 4))]},
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
        return dict(by_tool.get(tool, {}))

    def filler(self, lines: int) -> str:
        rng = self.rng
        words = ("alpha", "request", "config", "value", "module", "handler", "result", "status", "cache", "index")
        out = []
        for n in range(lines):
            out.append(f"{n + 1:>4}| " + " ".join(rng.choice(words) for _ in range(rng.randint(4, 12))))
        return "\n".join(out)

    def response_content(self, tool: str, arguments: dict) -> tuple[object, bool]:
        """Return (content, is_error) for a well-formed call."""
        rng = self.rng
        lines = max(1, int(rng.expovariate(1 / max(self.padding, 1))))
        roll = rng.random()
        if tool == "terminal":
            if roll < 0.12:
                code = rng.choice([1, 2, 127])
                msg = {127: "bash: foo: command not found", 1: "Error: tests failed", 2: "usage error"}[code]
                return {"output": msg + "\n" + self.filler(2), "exit_code": code, "error": None}, True
            return {"output": self.filler(lines), "exit_code": 0, "error": None}, False
        if tool in ("read_file", "write_file", "patch", "search_files") and roll < 0.1:
            return {"success": False, "error": f"File not found: {arguments.get('path', 'unknown')}"}, True
        if tool == "read_file":
            return {"content": self.filler(lines), "total_lines": lines, "truncated": False}, False
        if tool == "search_files":
            return {"matches": [{"file": f"src/m{n}.py", "line": n * 7, "text": "TODO: fix"} for n in range(rng.randint(0, 8))]}, False
        if tool.startswith("browser_"):
            if roll < 0.08:
                return {"success": False, "error": "Timeout 30000ms exceeded waiting for element"}, True
            return {"success": True, "snapshot": self.filler(max(1, lines // 2))}, False
        if tool == "execute_code":
            return {"output": "45\n", "error": None}, False
        return {"success": True, "result": "ok"}, False

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
        for call, (content, _) in zip(calls, contents):
            payload = {"tool_call_id": self.call_id(call.name), "name": call.name, "content": content}
            blocks.append(f"<tool_response>\n{json.dumps(payload, ensure_ascii=False)}\n</tool_response>")
        self.add("tool", "\n".join(blocks))
        self.last_error = any(is_error for _, is_error in contents)

    def step(self, tools: tuple[str, ...], width: int) -> None:
        rng = self.rng
        names = [rng.choice(tools[:4]) if rng.random() < 0.7 else rng.choice(tools) for _ in range(width)]
        calls = [_Call(name, self.arguments(name)) for name in names]
        self.assistant_turn(calls)
        self.tool_turn(calls, [self.response_content(c.name, c.arguments) for c in calls])


def _tools_json(config: str, tool_names: tuple[str, ...]) -> str:
    schemas = [catalog.TOOLS_BY_NAME[name].json_schema() for name in tool_names]
    if config == "kimi":
        return json.dumps([{"type": "function", "function": s} for s in schemas], ensure_ascii=False)
    return json.dumps(schemas, ensure_ascii=False)


def _system_prompt(tools_json: str) -> str:
    return catalog.SYSTEM_PROMPT_HEAD + tools_json + catalog.SYSTEM_PROMPT_TAIL


def _task(rng: random.Random, subcategory: str) -> tuple[str, str]:
    opener = rng.choice(catalog.TASK_OPENERS[subcategory])
    prompt = opener + rng.choice(catalog.TASK_DETAILS)
    first_sentence = prompt.split(". ")[0].split("? ")[0]
    return prompt, first_sentence[:100]


def _apply_quirk(conv: _Conversation, quirk: str, tools: tuple[str, ...]) -> None:
    """Append the turns that make ``quirk`` happen, mid-conversation."""
    if quirk == "empty_think":
        call = _Call(tools[0], conv.arguments(tools[0]))
        conv.assistant_turn([call], thought="<think>\n</think>")
        conv.tool_turn([call], [conv.response_content(call.name, call.arguments)])
    elif quirk == "parallel_calls":
        conv.step(tools, 6)
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
        call = _Call("execute_code", {"code": "import missing_module"})
        trace = 'Traceback (most recent call last):\n  File "<stdin>", line 1, in <module>\nModuleNotFoundError: No module named \'missing_module\''
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


def generate_row(
    rng: random.Random, config: str, index: int, quirk: str | None, padding: int = 140, random_ids: bool = False
) -> dict:
    """One row of the dataset schema; ``padding`` scales tool output size (lines).

    Ids sort in generation order unless ``random_ids``: then, like uuids or hashes, they do not
    (same rows otherwise), which is what the benchmark needs to show ids do not matter.
    """
    if quirk == "no_tool_calls":
        category = "Conversational"
    else:
        category = rng.choice([c for c in catalog.CATEGORIES if quirk is None or c != "Conversational"])
    subcategory = rng.choice(catalog.CATEGORIES[category])
    prompt, task = _task(rng, subcategory)
    tool_names = catalog.CORE_TOOLS + (catalog.BROWSER_TOOLS if category in ("Browser Automation", "Multi-Tool") or index % 3 == 0 else ())
    tools_json = _tools_json(config, tool_names)
    preferred = catalog.CATEGORY_TOOLS[category]

    conv = _Conversation(rng, config, quirk, padding)
    conv.add("system", _system_prompt(tools_json))
    conv.add("human", prompt)
    n_steps = 0 if category == "Conversational" else max(1, min(30, int(rng.expovariate(1 / 6))))
    quirk_at = rng.randint(0, n_steps) if quirk else -1
    for step in range(n_steps + 1):
        if step == quirk_at and quirk:
            _apply_quirk(conv, quirk, preferred)
        if step < n_steps:
            width = 1 if rng.random() < 0.84 else rng.randint(2, 6)
            conv.step(preferred, width)
    if quirk is None and n_steps and rng.random() < 0.05:
        quirk = "iteration_limit"
    _ending(conv, quirk, n_steps)

    prefix = "kimi" if config == "kimi" else "glm"
    salt = f"{rng.randrange(16**8):08x}"
    return {
        "id": f"{salt}-{prefix}-{index:06d}" if random_ids else f"{prefix}-{index:06d}-{salt}",
        "conversations": conv.turns,
        "tools": tools_json,
        "category": category,
        "subcategory": subcategory,
        "task": task,
    }


def generate(
    rows: int, seed: int = SAMPLE_SEED, padding: int = 140, random_ids: bool = False
) -> Iterator[tuple[str, dict]]:
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
        yield config, generate_row(row_rng, config, index, quirk, padding, random_ids)
