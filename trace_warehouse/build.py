"""Run dbt against the warehouse with the project's own profile."""

from __future__ import annotations

import os
import subprocess
import sys
from collections import deque
from pathlib import Path

from trace_warehouse import warehouse
from trace_warehouse.errors import BuildFailed
from trace_warehouse.paths import DB_ENV_VAR, PROJECT_DIR


def dbt_executable() -> str:
    candidate = Path(sys.executable).parent / "dbt"
    return str(candidate) if candidate.exists() else "dbt"


def run_dbt(db: Path, args: list[str], echo: bool = True) -> str:
    """Run ``dbt <args>`` on ``db``; return its output, raise ``BuildFailed`` on a non-zero exit."""
    warehouse.create_if_missing(db)
    warehouse.ensure_free(db)
    env = {**os.environ, DB_ENV_VAR: str(db), "DBT_SEND_ANONYMOUS_USAGE_STATS": "false"}
    command = [dbt_executable(), *args, "--project-dir", str(PROJECT_DIR), "--profiles-dir", str(PROJECT_DIR)]
    tail: deque[str] = deque(maxlen=40)
    lines: list[str] = []
    with subprocess.Popen(
        command, cwd=PROJECT_DIR, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    ) as proc:
        assert proc.stdout is not None
        for line in proc.stdout:
            lines.append(line)
            tail.append(line)
            if echo:
                sys.stdout.write(line)
        code = proc.wait()
    if code != 0:
        failures = [l.rstrip() for l in lines if "FAIL" in l or "ERROR" in l or "Error" in l]
        detail = "\n".join(failures[-15:] or list(tail))
        raise BuildFailed(f"dbt {args[0]} failed (exit {code}):\n{detail}")
    return "".join(lines)


def build(db: Path, echo: bool = True, select: str | None = None, unit_tests: bool = False) -> str:
    """``dbt build``: models and data tests. Unit tests check the SQL, not the data, so like dbt's
    own advice for production they run only when asked (``make test`` runs them)."""
    args = ["build"] if unit_tests else ["build", "--exclude-resource-type", "unit_test"]
    if select:
        args += ["--select", select]
    return run_dbt(db, args, echo=echo)
