"""Taking turns at the warehouse file: DuckDB lets one process write it or many read it, never both.

A writer (an ingest, a build) claims the writer's turn: it locks a small file beside the warehouse
and writes into it who it is. Readers that yield (the explorer, its search indexer, exports and
reports: everything that opens the warehouse read-only through ``foundation.warehouse``) look
at that file before opening the warehouse and, while a writer holds its turn, do not open it. So
a writer waits only for the readers already open to finish what they are doing, not for readers
that keep coming. A second writer finds the turn taken and is told at once who has it.

The lock is the proof, not the text: a writer that was killed leaves its text behind but not its
lock (the kernel releases it), and readers that find the file unlocked ignore what it says.
"""

from __future__ import annotations

import fcntl
import json
import os
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path

from foundation.errors import WarehouseBeingWritten, WarehouseInUse

TURN_SUFFIX = ".writer"
# A reader holds its shared lock on the turn file for the microseconds it takes to read it; a writer
# claiming the turn retries this long before it concludes that another writer has it.
CLAIM_RETRY_SECONDS = 1.0
CLAIM_RETRY_STEP = 0.01
# A second at most (a writer descheduled between locking and writing its note on a busy machine).
NOTE_READS = 100


@dataclass(frozen=True)
class Writer:
    """Who holds the writer's turn: ``what`` is ``ingest`` or ``build``."""

    what: str
    pid: int
    since: str

    def describe(self) -> str:
        return f"a running {self.what} (pid {self.pid}, since {self.since})"


def turn_path(db: Path) -> Path:
    return db.with_name(db.name + TURN_SUFFIX)


def _read_writer(fd: int) -> Writer | None:
    """The note in the turn file, or None when it is empty or half written."""
    text = os.pread(fd, 4096, 0).decode("utf-8", "replace").strip()
    if not text:
        return None
    try:
        return Writer(**json.loads(text))
    except (ValueError, TypeError):
        return None


def current_writer(db: Path) -> Writer | None:
    """The writer holding its turn at ``db``, or None (no writer, or one that died)."""
    try:
        fd = os.open(turn_path(db), os.O_RDONLY)
    except FileNotFoundError:
        return None
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            return _note_of_the_holder(fd)
        fcntl.flock(fd, fcntl.LOCK_UN)
        return None
    finally:
        os.close(fd)


def _note_of_the_holder(fd: int) -> Writer | None:
    """The note of a writer holding the lock. It writes the note just after locking and empties it
    just before unlocking, so a reader that finds the lock held and the note empty reads again for
    a moment, and looks whether the lock is still held: a writer that let go is no writer."""
    for _ in range(NOTE_READS):
        writer = _read_writer(fd)
        if writer is not None and writer.pid:
            return writer
        time.sleep(CLAIM_RETRY_STEP)
        try:
            fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            continue
        fcntl.flock(fd, fcntl.LOCK_UN)
        return None
    return Writer("write", 0, "unknown")


def refuse_while_writing(db: Path) -> None:
    """Raise ``WarehouseInUse`` while a writer holds its turn: a reader that opened now would make
    it wait."""
    writer = current_writer(db)
    if writer is not None:
        raise WarehouseBeingWritten(
            f"warehouse is being written: {db} is taken by {writer.describe()}; "
            "what reads it is back when that finishes",
            writer.what,
        )


def _claim_lock(fd: int, db: Path) -> None:
    deadline = time.monotonic() + CLAIM_RETRY_SECONDS
    while True:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return
        except BlockingIOError:
            if time.monotonic() >= deadline:
                other = _read_writer(fd)
                raise WarehouseInUse(
                    f"warehouse is in use: {db} is being written by "
                    f"{other.describe() if other else 'another ingest or build'}; try again when it finishes"
                ) from None
            time.sleep(CLAIM_RETRY_STEP)


@contextmanager
def claim(db: Path, what: str) -> Iterator[Writer]:
    """Hold the writer's turn at ``db`` for the block; ``WarehouseInUse`` if another writer has it."""
    path = turn_path(db)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        _claim_lock(fd, db)
        writer = Writer(what, os.getpid(), datetime.now(UTC).strftime("%H:%M:%S UTC"))
        os.ftruncate(fd, 0)
        os.pwrite(fd, json.dumps(asdict(writer)).encode(), 0)
        try:
            yield writer
        finally:
            os.ftruncate(fd, 0)
    finally:
        os.close(fd)  # releases the lock


def wait_until(
    attempt: Callable[[], None], db: Path, seconds: float, on_wait: Callable[[str], None] | None = None, step: float = 0.1
) -> None:
    """Call ``attempt`` until it no longer raises ``WarehouseInUse``, for at most ``seconds``; say
    once (``on_wait``) what is waited for."""
    deadline = time.monotonic() + seconds
    told = False
    while True:
        try:
            attempt()
            return
        except WarehouseInUse as exc:
            if time.monotonic() >= deadline:
                raise WarehouseInUse(
                    f"warehouse is in use: {db} was still open in another process after {seconds:.0f} s "
                    "(an export, a report, or a DuckDB session; traces serve lets go within seconds)"
                ) from exc
            if not told and on_wait is not None:
                on_wait(
                    f"waiting for the readers of {db} to let go (traces serve, an export or a DuckDB session); "
                    f"up to {seconds:.0f} s"
                )
                told = True
            time.sleep(step)
