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
