"""Keeping the search index up to date while ``traces serve`` runs: one background thread at a time."""

from __future__ import annotations

import threading
from dataclasses import dataclass

from foundation import turns
from reports.web.search import SearchIndex, UpdateReport


@dataclass(frozen=True)
class IndexStatus:
    ready: bool
    updating: bool
    done: int
    total: int
    error: str | None


class BackgroundIndexer:
    """Updates the index in a thread; ``ensure_current`` starts one when the warehouse changed."""

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

    def _progress(self, done: int, total: int) -> None:
        self._done, self._total = done, total

    def _run(self) -> None:
        try:
            self.last_report = self.index.update(self._progress)
        except Exception as exc:  # shown on the search page; the list falls back to the scan
            self._error = str(exc)

    def status(self) -> IndexStatus:
        updating = self._thread is not None and self._thread.is_alive()
        return IndexStatus(not updating and self.index.is_current(), updating, self._done, self._total, self._error)
