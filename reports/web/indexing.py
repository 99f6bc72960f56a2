"""Keeping the search index up to date while ``traces serve`` runs: one update at a time, in a
process of its own.

Not a thread of the server: an update reads and indexes in Python and merges tantivy's segments,
work that in the server's process competes with every request for the interpreter; in a child
process the server only reads the progress it prints. ``python -m reports.web.indexing WAREHOUSE`` is that
child: it prints ``progress <done> <total>`` lines, then ``done <json of UpdateReport>``.
"""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from dataclasses import asdict, dataclass
from pathlib import Path

from foundation import turns
from foundation.paths import search_index_path
from reports.web.search import SearchIndex, UpdateReport


@dataclass(frozen=True)
class IndexStatus:
    ready: bool
    updating: bool
    done: int
    total: int
    error: str | None


class BackgroundIndexer:
    """Updates the index in a child process; ``ensure_current`` starts one when the warehouse changed."""

    def __init__(self, index: SearchIndex):
        self.index = index
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._done = 0
        self._total = 0
        self._error: str | None = None
        self.last_report: UpdateReport | None = None

    def ensure_current(self) -> None:
        with self._lock:
            if self._thread is not None and self._thread.is_alive():
                return
            if self.index.is_current() or not self.index.db.exists():
                return
            if turns.current_writer(self.index.db) is not None:
                return  # the writer changes the file: index what it leaves, on a request after it
            self._done, self._total, self._error = 0, 0, None
            self._thread = threading.Thread(target=self._run, name="traces-index", daemon=True)
            self._thread.start()

    def wait(self, timeout: float | None = None) -> None:
        thread = self._thread
        if thread is not None:
            thread.join(timeout)

    def _run(self) -> None:
        command = [sys.executable, "-m", "reports.web.indexing", str(self.index.db)]
        child = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        assert child.stdout is not None and child.stderr is not None
        for line in child.stdout:
            word, _, rest = line.strip().partition(" ")
            if word == "progress":
                done, total = rest.split()
                self._done, self._total = int(done), int(total)
            elif word == "done":
                self.last_report = UpdateReport(**json.loads(rest))
        errors = child.stderr.read()
        if child.wait() != 0:  # shown on the search page; the list falls back to the scan
            self._error = errors.strip().splitlines()[-1] if errors.strip() else f"the index update exited {child.returncode}"

    def status(self) -> IndexStatus:
        updating = self._thread is not None and self._thread.is_alive()
        return IndexStatus(not updating and self.index.is_current(), updating, self._done, self._total, self._error)


def main(db: Path) -> None:
    def progress(done: int, total: int) -> None:
        print(f"progress {done} {total}", flush=True)

    report = SearchIndex(search_index_path(db), db).update(progress)
    print(f"done {json.dumps(asdict(report))}", flush=True)


if __name__ == "__main__":
    main(Path(sys.argv[1]))
