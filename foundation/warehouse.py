"""Opening the DuckDB warehouse file: storage format, resource limits, the one-writer rule."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import duckdb

from foundation import turns
from foundation.errors import SettingError, WarehouseInUse
from foundation.settings import RuntimeSettings

# DuckDB 2.x writes a format 1.x cannot read unless told otherwise; users open the
# warehouse from the DuckDB CLI and BI drivers that are still on 1.4.
STORAGE_COMPATIBILITY_VERSION = "v1.4.0"
# Names a warehouse file cannot take: DuckDB names the attached file after it, and a catalog named
# like one of the warehouse's schemas (or DuckDB's own) makes every `raw.x` ambiguous.
RESERVED_CATALOG_NAMES = {"raw", "staging", "intermediate", "main", "scratch", "memory", "system", "temp"}
# Text columns whose values average this many characters are stored zstd-compressed.
ZSTD_MIN_STRING_LENGTH = 256


_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([kmgt]i?b|b)?\s*$", re.IGNORECASE)
_UNIT_BYTES = {"b": 1, "kb": 10**3, "mb": 10**6, "gb": 10**9, "tb": 10**12, "kib": 2**10, "mib": 2**20, "gib": 2**30, "tib": 2**40}


def share_of_memory_limit(share: float, limit: str) -> str:
    """``share`` of a DuckDB memory limit such as ``1GB`` (``limit`` itself if it is not a size)."""
    match = _SIZE.match(limit)
    if not match:
        return limit
    size = float(match.group(1)) * _UNIT_BYTES[(match.group(2) or "b").lower()]
    return f"{int(size * share) // 2**20}MiB"


def _resource_config(settings: RuntimeSettings, memory_limit: str | None) -> dict[str, str | int]:
    return {
        "threads": settings.threads,
        "memory_limit": memory_limit or settings.memory_limit,
        "preserve_insertion_order": "false",
        # Same reason as in profiles.yml: it would materialise whole conversations.
        "disabled_optimizers": "common_subplan",
        "zstd_min_string_length": ZSTD_MIN_STRING_LENGTH,
    }


def create_if_missing(path: Path) -> None:
    """Create an empty warehouse readable by DuckDB 1.4+, before dbt ever opens it."""
    if path.exists():
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    con = connect(path, create=True)
    con.close()


def catalog_name(path: Path) -> str:
    """The catalog DuckDB names a file after when opening it directly (dbt-compiled views use it)."""
    return path.name.lstrip(".").split(".")[0]


def _session(
    temp_directory: Path, settings: RuntimeSettings, memory_limit: str | None = None
) -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB session with the resource limits; the warehouse is attached to it."""
    con = duckdb.connect(config={**_resource_config(settings, memory_limit), "temp_directory": str(temp_directory)})
    con.execute("set enable_progress_bar = false")
    return con


def check_name(path: Path) -> None:
    """Refuse a warehouse file whose catalog name is one of the warehouse's schemas (or DuckDB's)."""
    if catalog_name(path).lower() in RESERVED_CATALOG_NAMES:
        raise SettingError(
            f"{path.name}: DuckDB would name this warehouse {catalog_name(path)!r}, like one of its schemas; "
            f"rename it, e.g. to traces_{path.name}"
        )


def _attach(con: duckdb.DuckDBPyConnection, path: Path, options: list[str]) -> None:
    try:
        con.execute(f'attach {sql_literal(path)} as "{catalog_name(path)}" ({", ".join(options)})')
    except (duckdb.IOException, duckdb.ResourceInUseException) as exc:
        con.close()
        # Another process's lock on the file, or (ResourceInUse) this process has it open elsewhere.
        if "lock" in str(exc).lower() or isinstance(exc, duckdb.ResourceInUseException):
            raise WarehouseInUse(
                f"warehouse is in use: {path} is held by another process "
                "(a running ingest, build or an open DuckDB session); try again when it finishes"
            ) from exc
        raise
    con.execute(f'use "{catalog_name(path)}"')


def connect(
    path: Path,
    read_only: bool = False,
    create: bool = False,
    memory_limit: str | None = None,
    settings: RuntimeSettings | None = None,
) -> duckdb.DuckDBPyConnection:
    """Open the warehouse; raise ``WarehouseInUse`` when another process holds it, or, opening it
    read-only, while a writer holds its turn (``writers_turn``).

    ``settings`` default to the environment's; ``memory_limit`` overrides theirs (the ingest
    takes a share of it).
    """
    check_name(path)
    settings = settings or RuntimeSettings.from_env()
    if read_only:
        turns.refuse_while_writing(path)
    if not create and not path.exists() and not read_only:
        create_if_missing(path)
    # Spill next to the warehouse, read-only sessions included (exports stage large temp tables).
    con = _session(settings.spill_dir_for(path), settings, memory_limit)
    options = ["read_only"] if read_only else [f"row_group_size {settings.row_group_size}"]
    if create:
        options.append(f"storage_version '{STORAGE_COMPATIBILITY_VERSION}'")
    _attach(con, path, options)
    if read_only:
        _yield_to_a_writer_that_came(con, path)
    return con


def _yield_to_a_writer_that_came(con: duckdb.DuckDBPyConnection, path: Path) -> None:
    """A writer may have claimed its turn between a reader's look and its open; looking again
    once open, the reader lets go at once, so the writer's next try finds the file free."""
    try:
        turns.refuse_while_writing(path)
    except WarehouseInUse:
        con.close()
        raise


def connect_when_free(
    path: Path, memory_limit: str | None = None, settings: RuntimeSettings | None = None
) -> duckdb.DuckDBPyConnection:
    """Open the warehouse for writing inside the writer's turn, trying again while a reader that
    came before the turn lets go (bounded like the turn's wait)."""
    settings = settings or RuntimeSettings.from_env()
    opened: list[duckdb.DuckDBPyConnection] = []
    turns.wait_until(
        lambda: opened.append(connect(path, memory_limit=memory_limit, settings=settings)), path, settings.writer_wait_seconds, step=0.02
    )
    return opened[0]


def storage_version(con: duckdb.DuckDBPyConnection) -> str | None:
    row = con.execute(
        "select tags['storage_version'] from duckdb_databases() where database_name = current_database()"
    ).fetchone()
    return row[0] if row else None


def ensure_free(path: Path) -> None:
    """Fail fast with ``WarehouseInUse`` if another process holds the file."""
    if not path.exists():
        return
    connect(path).close()


@contextmanager
def writers_turn(
    path: Path, what: str, on_wait: Callable[[str], None] | None = None, settings: RuntimeSettings | None = None
) -> Iterator[None]:
    """The warehouse for one writer (``what``: ingest, build): readers that yield stop opening it, and
    the block runs once those open have let go (``on_wait`` hears what is waited for). Another
    writer holding its turn, or a reader still open after ``settings.writer_wait_seconds``:
    ``WarehouseInUse``."""
    settings = settings or RuntimeSettings.from_env()
    with turns.claim(path, what):
        create_if_missing(path)
        turns.wait_until(lambda: ensure_free(path), path, settings.writer_wait_seconds, on_wait)
        yield


def connect_with_scratch(
    path: Path, scratch: Path, settings: RuntimeSettings | None = None
) -> duckdb.DuckDBPyConnection:
    """Read the warehouse read-only, with a writable on-disk ``scratch`` database for staging.

    Staged rows spill to disk instead of failing on large exports; the warehouse itself
    is never written, so exports can run while nothing else holds the file for writing.
    """
    check_name(path)
    settings = settings or RuntimeSettings.from_env()
    turns.refuse_while_writing(path)
    con = _session(settings.spill_dir_for(scratch), settings)
    try:
        _attach(con, path, ["read_only"])
    except WarehouseInUse as exc:
        raise WarehouseInUse(f"warehouse is in use: {path} is held by another process for writing") from exc
    _yield_to_a_writer_that_came(con, path)
    con.execute(f"attach {sql_literal(scratch)} as scratch")
    return con


def sql_literal(value: Path | str) -> str:
    """A quoted SQL string literal, for the statements DuckDB cannot take parameters in (ATTACH, COPY)."""
    return "'" + str(value).replace("'", "''") + "'"


def one_row(con: duckdb.DuckDBPyConnection, query: str, parameters: list | dict | None = None) -> tuple[Any, ...]:
    """The row of a query that returns exactly one (an aggregate, a setting)."""
    # fetchall, not fetchone: an unfinished result keeps the connection busy (DuckDB 2 refuses
    # register() and the like on it until the result is read to its end).
    rows = con.execute(query, parameters).fetchall()
    if not rows:
        raise RuntimeError(f"expected a row, got none: {query.strip()[:200]}")
    return rows[0]
