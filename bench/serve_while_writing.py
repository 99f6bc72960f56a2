"""`traces serve` under load while `traces ingest` and `traces build` write the same warehouse.

`python -m bench.serve_while_writing WAREHOUSE NEW_ROWS` (from the repository root; WAREHOUSE is
written to: use a copy) starts a real `traces serve` on a free loopback port, brings its search
index up to date, then runs ``--clients`` client threads for ``--seconds``: each goes round the
list, a conversation, a search, a report page and a label write. After ``--start-after`` seconds
of load it runs `traces ingest NEW_ROWS` and then `traces build` on the same warehouse. It prints
per kind of request the answers by status and the latency of the answered ones, the writers'
exit codes and times, and the label writes sent, stored and refused.

The load client (``Load``) is also what tests/test_serve_while_building.py drives.
"""

from __future__ import annotations

import json
import re
import socket
import statistics
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlencode

import duckdb
import typer

from foundation.labels import LabelStore
from foundation.paths import labels_path

KINDS = ("list", "conversation", "search", "report", "label")
# The kinds of request that read the warehouse, so may answer 503 while a writer has it.
READ_WAREHOUSE_KINDS = frozenset({"list", "conversation"})
SEARCH_WORDS = ("file", "error", "python", "test")
REPORT_PAGES = ("overview", "tools", "errors")


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None  # a label write answers 303: that answer is what is counted


_OPENER = urllib.request.build_opener(_NoRedirects)


@dataclass
class Answer:
    kind: str
    status: int
    retry_after: str | None
    body: str
    seconds: float
    at: float = 0.0  # when it was asked, seconds from the load's start


@dataclass
class Load:
    """Clients going round the explorer's pages; every answer and every label write is kept."""

    base: str
    keys: list[tuple[str, str]]
    csrf: str
    stop: threading.Event = field(default_factory=threading.Event)
    answers: list[Answer] = field(default_factory=list)
    labels_sent: list[tuple[str, str, str, int]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    started: float = field(default_factory=time.monotonic)

    @classmethod
    def against(cls, base: str, db: Path, conversations: int = 40) -> Load:
        con = duckdb.connect(str(db), read_only=True)
        try:
            keys = con.execute(
                f"select source_config, conversation_id from fct_conversations order by conversation_seq limit {conversations}"
            ).fetchall()
        finally:
            con.close()
        config, conversation_id = keys[0]
        with urllib.request.urlopen(f"{base}/conversations/{config}/{conversation_id}", timeout=60) as page:
            found = re.search(r'name="csrf_token" value="([^"]+)"', page.read().decode())
        if found is None:
            raise RuntimeError("no label form on a conversation page")
        return cls(base, keys, found.group(1))

    def request(self, kind: str, path: str, form: dict | None = None) -> Answer:
        data = urlencode(form).encode() if form is not None else None
        at = time.monotonic() - self.started
        started = time.perf_counter()
        try:
            with _OPENER.open(urllib.request.Request(self.base + path, data=data), timeout=60) as response:
                status, headers, body = response.status, response.headers, response.read().decode()
        except urllib.error.HTTPError as exc:
            status, headers, body = exc.code, exc.headers, exc.read().decode()
        answer = Answer(kind, status, headers.get("Retry-After"), body, time.perf_counter() - started, at)
        with self.lock:
            self.answers.append(answer)
        return answer

    def client(self, number: int) -> None:
        step = 0
        while not self.stop.is_set():
            config, conversation_id = self.keys[(number * 7 + step) % len(self.keys)]
            kind = KINDS[step % len(KINDS)]
            if kind == "list":
                self.request(kind, f"/conversations?config={config}&page={step % 3 + 1}")
            elif kind == "conversation":
                self.request(kind, f"/conversations/{config}/{conversation_id}")
            elif kind == "search":
                self.request(kind, "/search?q=" + SEARCH_WORDS[step % len(SEARCH_WORDS)])
            elif kind == "report":
                self.request(kind, "/report/" + REPORT_PAGES[step % len(REPORT_PAGES)])
            else:
                label = f"load-{number}-{step}"
                form = {"label": label, "csrf_token": self.csrf}
                answer = self.request(kind, f"/conversations/{config}/{conversation_id}/labels", form)
                with self.lock:
                    self.labels_sent.append((config, conversation_id, label, answer.status))
            step += 1

    @contextmanager
    def running(self, clients: int) -> Iterator[None]:
        threads = [threading.Thread(target=self.client, args=(n,), daemon=True) for n in range(clients)]
        for thread in threads:
            thread.start()
        try:
            yield
        finally:
            self.stop.set()
            for thread in threads:
                thread.join(60)

    def labels_stored(self, db: Path) -> set[tuple[str, str, str]]:
        """The label writes that answered 303 and are in the label file."""
        stored = {(lb.source_config, lb.conversation_id, lb.label) for lb in LabelStore(labels_path(db)).labels()}
        return {(c, i, label) for c, i, label, status in self.labels_sent if status == 303} & stored

    def summary(self) -> dict:
        by_kind: dict[str, dict] = {}
        for kind in KINDS:
            answers = [a for a in self.answers if a.kind == kind]
            answered = sorted(a.seconds * 1000 for a in answers if a.status in (200, 303))
            busy = [a.at for a in answers if a.status == 503]
            by_kind[kind] = {
                "requests": len(answers),
                "by_status": dict(sorted(Counter(a.status for a in answers).items())),
                "503_from_s": round(min(busy), 1) if busy else None,
                "503_until_s": round(max(busy), 1) if busy else None,
                "p50_ms": round(statistics.median(answered)) if answered else None,
                "p99_ms": round(answered[min(len(answered) - 1, int(len(answered) * 0.99))]) if answered else None,
            }
        return by_kind


def _traces() -> str:
    return str(Path(sys.executable).parent / "traces")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def serving(db: Path, start_seconds: float = 60) -> Iterator[str]:
    """A real `traces serve` on ``db`` at a free loopback port; yields its base URL. Its output goes
    to a file beside the warehouse: a pipe nobody reads fills up, and waitress, logging its queue
    depth under load, then blocks the server."""
    port = free_port()
    log_path = db.with_name(db.name + f".serve-{port}.log")
    with log_path.open("w") as log:
        server = subprocess.Popen([_traces(), "serve", "--db", str(db), "--port", str(port)], stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + start_seconds
    try:
        while True:
            try:
                with urllib.request.urlopen(base + "/search", timeout=5):
                    break
            except OSError:
                if time.monotonic() > deadline or server.poll() is not None:
                    raise RuntimeError("traces serve did not start: " + log_path.read_text()[-2000:]) from None
                time.sleep(0.2)
        yield base
    finally:
        server.terminate()
        server.wait(10)
        log_path.unlink(missing_ok=True)


def run_writers(db: Path, rows: Path, config: str | None = None) -> list[dict]:
    """`traces ingest ROWS` then `traces build` on ``db``: exit code, seconds, the end of stderr."""
    done = []
    for command in (["ingest", str(rows), *(["--config", config] if config else [])], ["build"]):
        started = time.perf_counter()
        result = subprocess.run([_traces(), *command, "--db", str(db)], capture_output=True, text=True)
        done.append({
            "command": command[0], "exit_code": result.returncode, "seconds": round(time.perf_counter() - started, 1),
            "stderr": result.stderr[-2000:],
        })
    return done


def main(
    db: Path,
    rows: Path,
    clients: int = typer.Option(8, help="Client threads."),
    seconds: float = typer.Option(60, help="Seconds of load at least (longer if the writers take longer)."),
    start_after: float = typer.Option(5, help="Seconds of load before the ingest starts."),
    config: str = typer.Option(None, help="--config for the ingest."),
) -> None:
    subprocess.run([_traces(), "index", "--db", str(db)], check=True, capture_output=True)
    with serving(db) as base:
        load = Load.against(base, db)
        for slug in REPORT_PAGES:  # the report pages once, as a reader would have seen them before the writers came
            load.request("report", f"/report/{slug}")
        load.answers.clear()
        load.started = started = time.monotonic()
        with load.running(clients):
            time.sleep(start_after)
            writing = time.monotonic() - started
            writers = run_writers(db, rows, config)
            written = time.monotonic() - started
            time.sleep(max(0.0, seconds - (time.monotonic() - started)))
        elapsed = time.monotonic() - started
    accepted = sum(1 for *_, status in load.labels_sent if status == 303)
    result = {
        "clients": clients, "seconds": round(elapsed, 1), "requests": len(load.answers), "writers": writers,
        "writers_from_s": round(writing, 1), "writers_until_s": round(written, 1),
        "by_kind": load.summary(),
        "labels": {
            "sent": len(load.labels_sent), "stored": accepted, "in_file": len(load.labels_stored(db)),
            "refused": dict(Counter(status for *_, status in load.labels_sent if status != 303)),
        },
        "unexpected": sorted({a.status for a in load.answers} - {200, 303, 503}),
        "503_on_pages_that_need_no_warehouse": sum(1 for a in load.answers if a.status == 503 and a.kind not in READ_WAREHOUSE_KINDS),
    }
    typer.echo(json.dumps(result, indent=2))


if __name__ == "__main__":
    typer.run(main)
