"""DuckDB's runtime settings, defined once for ingest, dbt and export.

Each comes from an environment variable, else its default below. The CLI's own connections
read them here; dbt gets them through the same variables, which ``profiles.yml`` reads and
``dbt_env`` always sets, so a build started by the CLI never falls back on the profile's
defaults (a test checks those equal the ones here, for a hand-run ``dbt build``).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from foundation.errors import SettingError

THREADS_ENV = "TRACES_THREADS"
MEMORY_LIMIT_ENV = "TRACES_MEMORY_LIMIT"
ROW_GROUP_SIZE_ENV = "TRACES_ROW_GROUP_SIZE"
SPILL_DIR_ENV = "TRACES_SPILL_DIR"
WRITER_WAIT_ENV = "TRACES_WRITER_WAIT"

# Two threads, not os.cpu_count(): every DuckDB thread takes buffers out of the one memory
# limit, and the export opens a cursor per thread, so a 16-core machine would run 16 batches
# in 1 GB.
DEFAULT_THREADS = 2
DEFAULT_MEMORY_LIMIT = "1GB"
# DuckDB scans a table one row group per thread; at the default 122,880 rows a table of
# conversations is a single group, read by one core. The size is an ATTACH option (not stored
# in the file), so every writer attaches the file with it; dbt does too (profiles.yml).
DEFAULT_ROW_GROUP_SIZE = 2048
# Seconds an ingest or build waits for the readers open when it comes (an export, a DuckDB
# session); the explorer lets go within a request's time (foundation/turns.py).
DEFAULT_WRITER_WAIT_SECONDS = 60


@dataclass(frozen=True)
class RuntimeSettings:
    threads: int = DEFAULT_THREADS
    memory_limit: str = DEFAULT_MEMORY_LIMIT
    row_group_size: int = DEFAULT_ROW_GROUP_SIZE
    # None: next to the warehouse, ``<warehouse>.tmp``.
    spill_dir: Path | None = None
    writer_wait_seconds: int = DEFAULT_WRITER_WAIT_SECONDS

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> RuntimeSettings:
        env = os.environ if environ is None else environ
        spill = env.get(SPILL_DIR_ENV)
        return cls(
            threads=_positive_int(env, THREADS_ENV, DEFAULT_THREADS),
            memory_limit=env.get(MEMORY_LIMIT_ENV) or DEFAULT_MEMORY_LIMIT,
            row_group_size=_positive_int(env, ROW_GROUP_SIZE_ENV, DEFAULT_ROW_GROUP_SIZE),
            spill_dir=Path(spill).expanduser().resolve() if spill else None,
            writer_wait_seconds=_positive_int(env, WRITER_WAIT_ENV, DEFAULT_WRITER_WAIT_SECONDS),
        )

    def spill_dir_for(self, db: Path) -> Path:
        return self.spill_dir or db.with_name(db.name + ".tmp")

    def dbt_env(self, db: Path) -> dict[str, str]:
        """The variables ``profiles.yml`` reads, set to these values."""
        return {
            THREADS_ENV: str(self.threads),
            MEMORY_LIMIT_ENV: self.memory_limit,
            ROW_GROUP_SIZE_ENV: str(self.row_group_size),
            SPILL_DIR_ENV: str(self.spill_dir_for(db)),
        }


def _positive_int(env: Mapping[str, str], name: str, default: int) -> int:
    text = env.get(name)
    if not text:
        return default
    try:
        value = int(text)
    except ValueError:
        raise SettingError(f"{name}={text!r} is not a whole number") from None
    if value < 1:
        raise SettingError(f"{name}={text!r} must be at least 1")
    return value
