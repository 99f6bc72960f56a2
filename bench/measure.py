"""Run a command and report its wall time and the peak RSS of its whole process tree."""

from __future__ import annotations

import os
import subprocess
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path


@dataclass
class Measurement:
    wall_seconds: float
    peak_rss_mb: float
    stdout: str
    returncode: int
    # When the peak was reached (seconds from the start), to tell which stage holds it, and
    # each process's share of it (command, MiB).
    peak_at_seconds: float = 0.0
    peak_processes: list[tuple[str, float]] = field(default_factory=list)


def _children(pid: int) -> list[int]:
    try:
        text = Path(f"/proc/{pid}/task/{pid}/children").read_text()
    except OSError:
        return []
    return [int(p) for p in text.split()]


def _tree_rss_kb(root: int) -> list[tuple[int, int]]:
    """(pid, RSS in kB) of ``root`` and every process below it."""
    found, stack = [], [root]
    while stack:
        pid = stack.pop()
        try:
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    found.append((pid, int(line.split()[1])))
                    break
        except OSError:
            continue
        stack.extend(_children(pid))
    return found


def _command(pid: int) -> str:
    try:
        words = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return "?"
    return " ".join(Path(w.decode()).name if i == 0 else w.decode() for i, w in enumerate(words[:4]) if w)


def measure(command: list[str], env: dict | None = None, interval: float = 0.05) -> Measurement:
    """Wall time and peak summed RSS (sampled every ``interval`` s) of ``command`` and its children."""
    started = time.perf_counter()
    process = subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env={**os.environ, **(env or {})}
    )
    peak, peak_at = 0, 0.0
    output: list[str] = []
    stdout = process.stdout
    assert stdout is not None
    reader = threading.Thread(target=lambda: output.extend(stdout), daemon=True)
    reader.start()
    processes: list[tuple[str, float]] = []
    while process.poll() is None:
        tree = _tree_rss_kb(process.pid)
        rss = sum(kb for _, kb in tree)
        if rss > peak:
            peak, peak_at = rss, time.perf_counter() - started
            processes = [(_command(pid), round(kb / 1024)) for pid, kb in tree]
        time.sleep(interval)
    reader.join()
    return Measurement(time.perf_counter() - started, peak / 1024, "".join(output), process.returncode, peak_at, processes)
