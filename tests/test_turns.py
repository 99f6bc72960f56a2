"""Writers and readers take turns at the warehouse (foundation/turns.py): a writer waits for the
readers open, readers that come while it waits or works do not open the file, a second writer is
told at once, and a writer that died leaves nothing that blocks anyone."""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from foundation import turns, warehouse
from foundation.errors import WarehouseInUse
from foundation.settings import RuntimeSettings

PROJECT = Path(__file__).resolve().parent.parent
SHORT_WAIT = RuntimeSettings(writer_wait_seconds=2)

CLAIM_AND_HOLD = """
import sys, time
from pathlib import Path
from foundation import turns
with turns.claim(Path(sys.argv[1]), "build"):
    print("claimed", flush=True)
    if sys.argv[2] == "die":
        import os; os._exit(9)
    sys.stdin.read()
"""


@pytest.fixture
def db(tmp_path) -> Path:
    path = tmp_path / "w.duckdb"
    con = warehouse.connect(path, create=True)
    con.execute("create table t as select 1 as x")
    con.close()
    return path


def hold(db: Path, how: str) -> subprocess.Popen:
    holder = subprocess.Popen(
        [sys.executable, "-c", CLAIM_AND_HOLD, str(db), how], cwd=PROJECT, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    assert holder.stdout is not None and holder.stdout.readline().strip() == "claimed"
    return holder


def test_readers_do_not_open_while_a_writer_has_its_turn(db):
    assert turns.current_writer(db) is None
    warehouse.connect(db, read_only=True).close()
    with warehouse.writers_turn(db, "ingest", settings=SHORT_WAIT):
        writer = turns.current_writer(db)
        assert writer is not None and writer.what == "ingest"
        with pytest.raises(WarehouseInUse, match="taken by a running ingest"):
            warehouse.connect(db, read_only=True)
        with pytest.raises(WarehouseInUse, match="being written"):
            warehouse.connect_with_scratch(db, db.with_name("scratch.duckdb"))
        # The writer itself opens it as always.
        warehouse.connect(db).close()
    assert turns.current_writer(db) is None
    warehouse.connect(db, read_only=True).close()


def test_a_second_writer_is_told_at_once_who_has_the_turn(db):
    holder = hold(db, "hold")
    try:
        started = time.monotonic()
        with pytest.raises(WarehouseInUse, match=r"being written by a running build \(pid \d+"):
            with warehouse.writers_turn(db, "ingest", settings=SHORT_WAIT):
                pass
        assert time.monotonic() - started < turns.CLAIM_RETRY_SECONDS + 1
    finally:
        holder.communicate("")


def test_a_writer_that_died_blocks_no_one(db):
    holder = hold(db, "die")
    holder.wait()
    assert turns.turn_path(db).read_text()  # its note is left behind...
    assert turns.current_writer(db) is None  # ...but not its lock
    warehouse.connect(db, read_only=True).close()
    with warehouse.writers_turn(db, "build", settings=SHORT_WAIT):
        pass


def test_a_writer_waits_for_the_readers_open_and_no_new_one_gets_in(db):
    reader = warehouse.connect(db, read_only=True)
    heard: list[str] = []
    entered = threading.Event()
    refused: list[str] = []

    def write() -> None:
        with warehouse.writers_turn(db, "build", heard.append, SHORT_WAIT):
            entered.set()

    writer = threading.Thread(target=write)
    writer.start()
    time.sleep(0.5)
    assert not entered.is_set() and heard and "waiting for the readers" in heard[0]
    try:  # a reader that comes now is turned away, so the writer waits only for the one open
        warehouse.connect(db, read_only=True)
    except WarehouseInUse as exc:
        refused.append(str(exc))
    reader.close()
    writer.join(5)
    assert entered.is_set() and refused


READ_AND_STAY = "import duckdb, sys; c = duckdb.connect(sys.argv[1], read_only=True); print('open', flush=True); sys.stdin.read()"


def test_a_reader_that_stays_is_waited_for_a_bounded_time(db):
    # A DuckDB session in another process that knows nothing of turns.
    reader = subprocess.Popen([sys.executable, "-c", READ_AND_STAY, str(db)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    assert reader.stdout is not None and reader.stdout.readline().strip() == "open"
    try:
        started = time.monotonic()
        with pytest.raises(WarehouseInUse, match="still open in another process after 2 s"):
            with warehouse.writers_turn(db, "build", settings=SHORT_WAIT):
                pass
        assert 2 <= time.monotonic() - started < 5
    finally:
        reader.communicate("")
    assert turns.current_writer(db) is None  # the failed writer let go of its turn


def test_a_reader_meeting_a_writer_that_is_letting_go_sees_no_writer(db):
    """Between emptying its note and unlocking, a writer holds the lock with no note: a reader
    that comes then must not report an unknown writer (the explorer's page would name none)."""
    import fcntl
    import os

    fd = os.open(turns.turn_path(db), os.O_RDWR | os.O_CREAT)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        os.ftruncate(fd, 0)
        letting_go = threading.Timer(0.1, lambda: fcntl.flock(fd, fcntl.LOCK_UN))
        letting_go.start()
        assert turns.current_writer(db) is None
        letting_go.join()
    finally:
        os.close(fd)
