"""Each export format timed on a built warehouse, as a user runs it (`traces export --format X`,
default settings: Qwen3 tokenizer over the qwen3_training render), with its output size,
throughput and the process tree's peak memory."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

from bench.measure import measure

FORMATS = ("trl-messages", "trl-prompt-completion", "openai", "sharegpt", "prompt-response", "hub")


def export_timings(db: Path, out: Path, formats: tuple[str, ...] = FORMATS, extra: tuple[str, ...] = ()) -> list[dict]:
    traces = str(Path(sys.executable).parent / "traces")
    rows = []
    for name in formats:
        target = out / name
        shutil.rmtree(target, ignore_errors=True)
        m = measure([traces, "export", "--db", str(db), "--out", str(target), "--format", name, *extra])
        if m.returncode != 0:
            raise RuntimeError(f"export {name} failed:\n{m.stdout[-3000:]}")
        size = sum(p.stat().st_size for p in target.rglob("*") if p.is_file())
        rows.append({
            "format": name, "seconds": round(m.wall_seconds, 1), "output_mb": round(size / 1e6, 1),
            "mb_per_s": round(size / 1e6 / m.wall_seconds, 1), "peak_rss_mb": round(m.peak_rss_mb),
        })
        print(f"  export {name}: {rows[-1]}", flush=True)
        shutil.rmtree(target, ignore_errors=True)
    return rows


def render_exports(rows: list[dict]) -> str:
    lines = ["| export format | s | output MB | MB/s | peak RSS MB |", "|---|---|---|---|---|"]
    lines += [f"| {r['format']} | {r['seconds']} | {r['output_mb']} | {r['mb_per_s']} | {r['peak_rss_mb']} |" for r in rows]
    return "\n".join(lines)


def _count_rendered(path: str, start: int, stop: int, tokenizer_name: str) -> int:
    """Tokens in lines [start, stop) of a file of rendered texts (one JSON string per line)."""
    import json

    from reports.exports.tokens import load_tokenizer

    tokenizer = load_tokenizer(tokenizer_name)  # one process per core: each counts on its own thread
    total = 0
    with open(path, encoding="utf-8") as handle:
        for number, line in enumerate(handle):
            if number >= stop:
                break
            if number >= start:
                total += tokenizer.count([json.loads(line)])[0]  # as the export counts
    return total


def tokenizer_floor(db: Path, out: Path, tokenizer: str = "qwen3", template: str = "qwen3_training") -> dict:
    """The floor of a token-counted export: the tokenizer alone over the text the default export
    renders (trl-messages with its chat template), on every core, the render done beforehand."""
    import json
    import multiprocessing
    import os
    import time
    from concurrent.futures import ProcessPoolExecutor

    from reports.exports.formats import FORMATS
    from reports.exports.measure import render_record
    from reports.exports.templates import load_template

    traces = str(Path(sys.executable).parent / "traces")
    shutil.rmtree(out, ignore_errors=True)
    plain = measure([traces, "export", "--db", str(db), "--out", str(out), "--format", "trl-messages", "--tokenizer", "none"])
    if plain.returncode != 0:
        raise RuntimeError(f"export failed:\n{plain.stdout[-3000:]}")
    chat = load_template(template)
    rendered = out / "rendered.jsonl"
    lines = 0
    with (out / "trl-messages.jsonl").open(encoding="utf-8") as source, rendered.open("w", encoding="utf-8") as sink:
        for line in source:
            for text, _ in render_record(FORMATS["trl-messages"], chat, json.loads(line)).segments:
                sink.write(json.dumps(text) + "\n")
                lines += 1
    size = rendered.stat().st_size
    workers = os.cpu_count() or 1
    bounds = [(lines * i // workers, lines * (i + 1) // workers) for i in range(workers)]
    started = time.perf_counter()
    with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn")) as pool:
        tokens = sum(pool.map(_count_rendered, [str(rendered)] * workers, *zip(*bounds, strict=True), [tokenizer] * workers))
    seconds = time.perf_counter() - started
    shutil.rmtree(out, ignore_errors=True)
    row = {"seconds": round(seconds, 1), "rendered_mb": round(size / 1e6, 1), "tokens": tokens, "workers": workers,
           "mb_per_s": round(size / 1e6 / seconds, 1)}
    print(f"  tokenizer floor: {row}", flush=True)
    return row
