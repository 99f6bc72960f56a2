"""Labels people give conversations while reading them, and the list views they save.

They live in a JSON-lines file beside the warehouse (``paths.labels_path``), one record per
line: ``{"kind": "label", "source_config", "conversation_id", "label", "note", "labelled_at"}``
or ``{"kind": "view", "name", "query", "saved_at"}``. Keyed by conversation (config, id), not
by the warehouse's row numbers, so a re-ingest or a rebuild keeps them.

Every change rewrites the file under an exclusive lock (a ``.lock`` file beside it) into a
temporary file that then replaces it: readers (a build, an export, DuckDB) see the old or the
new file whole, never half of one, and need no lock; two writers at once both land.
"""

from __future__ import annotations

import csv
import fcntl
import json
import os
import re
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path

from foundation.errors import LabelError

LABEL_PATTERN = re.compile(r"[a-z0-9_-]{1,40}")
VIEW_NAME_PATTERN = re.compile(r"[A-Za-z0-9_-]{1,60}")
MAX_NOTE_CHARS = 2000
MAX_QUERY_CHARS = 2000
LABEL_FIELDS = ("source_config", "conversation_id", "label", "note", "labelled_at")


@dataclass(frozen=True)
class Label:
    source_config: str
    conversation_id: str
    label: str
    note: str = ""
    labelled_at: str = ""

    @property
    def key(self) -> tuple[str, str, str]:
        return (self.source_config, self.conversation_id, self.label)


@dataclass(frozen=True)
class SavedView:
    name: str
    query: str
    saved_at: str = ""


def check_label(label: str) -> str:
    if not LABEL_PATTERN.fullmatch(label or ""):
        raise LabelError(f"a label is 1-40 characters of a-z, 0-9, _ and -; got {label!r}")
    return label


def check_view_name(name: str) -> str:
    if not VIEW_NAME_PATTERN.fullmatch(name or ""):
        raise LabelError(f"a view name is 1-60 characters of letters, digits, _ and -; got {name!r}")
    return name


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


class LabelStore:
    """The label file of one warehouse; every method reads the file afresh (no state kept)."""

    def __init__(self, path: Path):
        self.path = Path(path)

    # -- reading -------------------------------------------------------------------------------
    def _records(self) -> list[dict]:
        try:
            text = self.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return []
        records = []
        for number, line in enumerate(text.splitlines(), start=1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except ValueError as exc:
                raise LabelError(f"{self.path}:{number} is not JSON ({exc}); fix or remove that line") from exc
            if not isinstance(record, dict) or record.get("kind") not in ("label", "view"):
                raise LabelError(f"{self.path}:{number} is not a label or view record")
            records.append(record)
        return records

    @staticmethod
    def _labels_in(records: list[dict]) -> list[Label]:
        return [Label(**{k: r.get(k) or "" for k in LABEL_FIELDS}) for r in records if r["kind"] == "label"]

    @staticmethod
    def _views_in(records: list[dict]) -> list[SavedView]:
        return [SavedView(r["name"], r.get("query", ""), r.get("saved_at", "")) for r in records if r["kind"] == "view"]

    def labels(self) -> list[Label]:
        return self._labels_in(self._records())

    def labels_of(self, source_config: str, conversation_id: str) -> list[Label]:
        return [lb for lb in self.labels() if (lb.source_config, lb.conversation_id) == (source_config, conversation_id)]

    def views(self) -> list[SavedView]:
        return self._views_in(self._records())

    def view(self, name: str) -> SavedView:
        for view in self.views():
            if view.name == name:
                return view
        known = ", ".join(v.name for v in self.views()) or "none saved yet"
        raise LabelError(f"no saved view {name!r} (views: {known})")

    def label_rows(self) -> dict[str, list]:
        """The labels as columns (for ``duckdb`` / ``pyarrow``), including when there are none."""
        labels = self.labels()
        return {name: [getattr(lb, name) for lb in labels] for name in LABEL_FIELDS}

    # -- writing -------------------------------------------------------------------------------
    @contextmanager
    def _locked(self) -> Iterator[None]:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.path.with_name(self.path.name + ".lock"), "a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)

    def _rewrite(self, change: Callable[[list[dict]], list[dict]]) -> None:
        with self._locked():
            records = change(self._records())
            fd, tmp = tempfile.mkstemp(prefix=self.path.name + ".", suffix=".partial", dir=self.path.parent)
            try:
                with os.fdopen(fd, "w", encoding="utf-8") as out:
                    for record in records:
                        out.write(json.dumps(record, ensure_ascii=False) + "\n")
                    out.flush()
                    os.fsync(out.fileno())
                os.replace(tmp, self.path)
            except BaseException:
                Path(tmp).unlink(missing_ok=True)
                raise

    def ensure_exists(self) -> None:
        """Create an empty label file if there is none (dbt reads it on every build)."""
        if not self.path.exists():
            self._rewrite(lambda records: records)

    def add(self, source_config: str, conversation_id: str, label: str, note: str = "") -> Label:
        """Give a conversation a label (again: the note is replaced)."""
        added = _checked(Label(source_config, conversation_id, label, note, _now()))
        self.merge([added])
        return added

    def merge(self, labels: list[Label]) -> int:
        """Add these labels, replacing the note of one the conversation already has; returns how many were new."""
        checked = {lb.key: _checked(lb) for lb in labels}
        added = 0

        def change(records: list[dict]) -> list[dict]:
            nonlocal added
            kept = []
            for r in records:
                key = (r.get("source_config"), r.get("conversation_id"), r.get("label"))
                if r["kind"] == "label" and key in checked:
                    continue
                kept.append(r)
            existing = {lb.key for lb in self._labels_in(records)}
            added = sum(1 for key in checked if key not in existing)
            return kept + [{"kind": "label", **asdict(lb)} for lb in checked.values()]

        self._rewrite(change)
        return added

    def remove(self, source_config: str, conversation_id: str, label: str) -> bool:
        removed = False

        def change(records: list[dict]) -> list[dict]:
            nonlocal removed
            kept = [
                r for r in records
                if not (r["kind"] == "label" and (r.get("source_config"), r.get("conversation_id"), r.get("label"))
                        == (source_config, conversation_id, label))
            ]
            removed = len(kept) < len(records)
            return kept

        self._rewrite(change)
        return removed

    def save_view(self, name: str, query: str) -> SavedView:
        check_view_name(name)
        query = query.lstrip("?")
        if len(query) > MAX_QUERY_CHARS:
            raise LabelError(f"a view's query is at most {MAX_QUERY_CHARS} characters")
        view = SavedView(name, query, _now())

        def change(records: list[dict]) -> list[dict]:
            kept = [r for r in records if not (r["kind"] == "view" and r.get("name") == name)]
            return kept + [{"kind": "view", **asdict(view)}]

        self._rewrite(change)
        return view

    def delete_view(self, name: str) -> bool:
        removed = False

        def change(records: list[dict]) -> list[dict]:
            nonlocal removed
            kept = [r for r in records if not (r["kind"] == "view" and r.get("name") == name)]
            removed = len(kept) < len(records)
            return kept

        self._rewrite(change)
        return removed

    # -- sharing -------------------------------------------------------------------------------
    def export_to(self, path: Path) -> int:
        """Write the labels to ``path``: CSV if it ends in .csv, else JSON lines."""
        labels = self.labels()
        path = Path(path)
        if path.suffix.lower() == ".csv":
            with path.open("w", newline="", encoding="utf-8") as out:
                writer = csv.DictWriter(out, fieldnames=LABEL_FIELDS)
                writer.writeheader()
                writer.writerows(asdict(lb) for lb in labels)
        else:
            with path.open("w", encoding="utf-8") as out:
                for lb in labels:
                    out.write(json.dumps(asdict(lb), ensure_ascii=False) + "\n")
        return len(labels)

    def import_from(self, path: Path) -> tuple[int, int]:
        """Merge the labels in ``path`` (CSV or JSON lines, as ``export_to`` writes them); every row
        is checked before any is written. Returns (rows read, labels new to this file)."""
        rows = list(_read_rows(Path(path)))
        labels = []
        for number, row in rows:
            missing = [name for name in ("source_config", "conversation_id", "label") if not row.get(name)]
            if missing:
                raise LabelError(f"{path}: row {number} has no {', '.join(missing)}")
            try:
                labels.append(_checked(Label(
                    str(row["source_config"]), str(row["conversation_id"]), str(row["label"]),
                    str(row.get("note") or ""), str(row.get("labelled_at") or _now()),
                )))
            except LabelError as exc:
                raise LabelError(f"{path}: row {number}: {exc}") from exc
        return len(labels), self.merge(labels)


def _checked(label: Label) -> Label:
    check_label(label.label)
    if not label.source_config or not label.conversation_id:
        raise LabelError("a label needs the conversation's config and id")
    if len(label.note) > MAX_NOTE_CHARS:
        raise LabelError(f"a note is at most {MAX_NOTE_CHARS} characters")
    return label


def _read_rows(path: Path) -> Iterator[tuple[int, dict]]:
    if not path.exists():
        raise LabelError(f"{path} does not exist")
    with path.open(encoding="utf-8", newline="") as lines:
        if path.suffix.lower() == ".csv":
            for number, row in enumerate(csv.DictReader(lines), start=2):
                yield number, row
            return
        for number, line in enumerate(lines, start=1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except ValueError as exc:
                raise LabelError(f"{path}:{number} is not JSON ({exc})") from exc
            if not isinstance(row, dict):
                raise LabelError(f"{path}:{number} is not an object")
            yield number, row
