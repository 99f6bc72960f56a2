"""Run a command and report its wall time and the peak RSS of its whole process tree."""

from __future__ import annotations

import os
import subprocess
import threading
import time
from dataclasses import dataclass
from pathlib import Path


@dataclass
class Measurement:
    wall_seconds: float
    peak_rss_mb: float
    stdout: str
    returncode: int
    # When the peak was reached (seconds from the start), to tell which stage holds it.
    peak_at_seconds: float = 0.0


def _children(pid: int) -> list[int]:
    try:
        text = Path(f"/proc/{pid}/task/{pid}/children").read_text()
    except OSError:
        return []
    return [int(p) for p in text.split()]


def _tree_rss_kb(root: int) -> int:
    total, stack = 0, [root]
    while stack:
        pid = stack.pop()
        try:
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
                    break
        except OSError:
            continue
        stack.extend(_children(pid))
    return total


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
    while process.poll() is None:
        rss = _tree_rss_kb(process.pid)
        if rss > peak:
            peak, peak_at = rss, time.perf_counter() - started
        time.sleep(interval)
    reader.join()
    return Measurement(time.perf_counter() - started, peak / 1024, "".join(output), process.returncode, peak_at)
