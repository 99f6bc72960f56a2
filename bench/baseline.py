"""The yardstick: the seed tutorial's plain-Python pipeline, kept faithful on purpose.

One pass with json + re + Counter over every row (parse every assistant and tool turn,
count tools, parallel widths and errors with the tutorial's substring test), its 2x2
matplotlib dashboard, and one messages JSONL. Not part of the product.
"""

from __future__ import annotations

import json
import re
import sys
from collections import Counter, defaultdict
from pathlib import Path

THINK_RE = re.compile(r"<think>(.*?)</think>", re.S)
TOOL_CALL_RE = re.compile(r"<tool_call>(.*?)</tool_call>", re.S)
TOOL_RESP_RE = re.compile(r"<tool_response>(.*?)</tool_response>", re.S)
ROLE = {"system": "system", "human": "user", "gpt": "assistant", "tool": "tool"}


def parse_assistant(value: str) -> dict:
    thoughts = [t.strip() for t in THINK_RE.findall(value)]
    calls = []
    for raw in TOOL_CALL_RE.findall(value):
        try:
            calls.append(json.loads(raw.strip()))
        except json.JSONDecodeError:
            calls.append({"name": "<malformed>", "arguments": {}})
    answer = TOOL_CALL_RE.sub("", THINK_RE.sub("", value)).strip()
    return {"thoughts": thoughts, "calls": calls, "answer": answer}


def run(inputs: list[Path], out: Path) -> dict:
    out.mkdir(parents=True, exist_ok=True)
    tool_counts: Counter = Counter()
    tool_errors: Counter = Counter()
    widths: Counter = Counter()
    lengths: list[int] = []
    think_chars: list[int] = []
    n_rows = 0
    with (out / "messages.jsonl").open("w", encoding="utf-8") as sink:
        for path in inputs:
            with path.open(encoding="utf-8") as f:
                for line in f:
                    row = json.loads(line)
                    n_rows += 1
                    turns = row["conversations"]
                    lengths.append(len(turns))
                    last_calls: list[str] = []
                    messages = []
                    for turn in turns:
                        role = ROLE.get(turn["from"], turn["from"])
                        messages.append({"role": role, "content": turn["value"]})
                        if turn["from"] == "gpt":
                            parsed = parse_assistant(turn["value"])
                            think_chars.extend(len(t) for t in parsed["thoughts"])
                            names = [c.get("name", "?") if isinstance(c, dict) else "?" for c in parsed["calls"]]
                            tool_counts.update(names)
                            if names:
                                widths[len(names)] += 1
                            last_calls = names
                        elif turn["from"] == "tool":
                            for i, resp in enumerate(TOOL_RESP_RE.findall(turn["value"])):
                                if "error" in resp.lower():
                                    tool_errors[last_calls[i] if i < len(last_calls) else "?"] += 1
                    sink.write(json.dumps({"id": row["id"], "messages": messages}) + "\n")
    _dashboard(tool_counts, tool_errors, widths, lengths, out / "dashboard.png")
    return {"rows": n_rows, "tool_calls": sum(tool_counts.values()), "errors": sum(tool_errors.values())}


def _dashboard(tool_counts: Counter, tool_errors: Counter, widths: Counter, lengths: list[int], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(2, 2, figsize=(14, 10))
    top = tool_counts.most_common(15)
    axes[0, 0].barh([t for t, _ in top], [n for _, n in top])
    axes[0, 0].set_title("Tool frequency")
    axes[0, 1].hist(lengths, bins=30)
    axes[0, 1].set_title("Conversation length")
    axes[1, 0].bar([str(w) for w in sorted(widths)], [widths[w] for w in sorted(widths)])
    axes[1, 0].set_title("Parallel width")
    rates = defaultdict(float)
    for tool, n in top:
        rates[tool] = tool_errors[tool] / n if n else 0.0
    axes[1, 1].barh(list(rates), list(rates.values()))
    axes[1, 1].set_title("Error rate by tool")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


if __name__ == "__main__":  # python -m bench.baseline OUT FILE...
    print(json.dumps(run([Path(p) for p in sys.argv[2:]], Path(sys.argv[1]))))
