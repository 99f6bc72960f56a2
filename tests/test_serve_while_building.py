"""A real `traces serve` under load while a real `traces ingest` and `traces build` write the same
warehouse: the writers never fail, search answers throughout, pages that read the warehouse answer
503 with Retry-After (and a page that reloads itself) while a writer has it, every label write is
stored or refused with a status, and afterwards the explorer shows the new data without a restart."""

from __future__ import annotations

import re
import shutil
import socket
import subprocess
import threading
import time
import urllib.error
import urllib.request
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlencode

import duckdb
import pytest

from foundation.labels import LabelStore
from foundation.paths import labels_path, search_index_path
from ingest.synthetic.generator import generate
from reports.web.search import SearchIndex
from tests.helpers import BIN, write_jsonl

CLIENTS = 4
NEW_ROWS = 16
LOAD_SECONDS_MAX = 240
# The kinds of request, and whether one may answer 503 while a writer has the warehouse.
NEEDS_WAREHOUSE = {"list": True, "conversation": True, "search": False, "report": False, "label": False}


class NoRedirects(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None  # a label write answers 303: that answer is what is counted


OPENER = urllib.request.build_opener(NoRedirects)


@dataclass
class Answer:
    kind: str
    status: int
    retry_after: str | None
    body: str
    seconds: float


@dataclass
class Load:
    base: str
    keys: list[tuple[str, str]]
    csrf: str
    stop: threading.Event = field(default_factory=threading.Event)
    answers: list[Answer] = field(default_factory=list)
    labels_sent: list[tuple[str, str, str, int]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def request(self, kind: str, path: str, form: dict | None = None) -> Answer:
        data = urlencode(form).encode() if form is not None else None
        started = time.perf_counter()
        try:
            with OPENER.open(urllib.request.Request(self.base + path, data=data), timeout=60) as response:
                status, headers, body = response.status, response.headers, response.read().decode()
        except urllib.error.HTTPError as exc:
            status, headers, body = exc.code, exc.headers, exc.read().decode()
        answer = Answer(kind, status, headers.get("Retry-After"), body, time.perf_counter() - started)
        with self.lock:
            self.answers.append(answer)
        return answer

    def client(self, number: int) -> None:
        step = 0
        while not self.stop.is_set():
            config, conversation_id = self.keys[(number * 7 + step) % len(self.keys)]
            kind = ("list", "conversation", "search", "report", "label")[step % 5]
            if kind == "list":
                self.request(kind, f"/conversations?config={config}&page={step % 3 + 1}")
            elif kind == "conversation":
                self.request(kind, f"/conversations/{config}/{conversation_id}")
            elif kind == "search":
                self.request(kind, "/search?q=" + ("file", "error", "python", "test")[step % 4])
            elif kind == "report":
                self.request(kind, "/report/" + ("overview", "tools", "errors")[step % 3])
            else:
                label = f"load-{number}-{step}"
                answer = self.request(
                    kind, f"/conversations/{config}/{conversation_id}/labels", {"label": label, "csrf_token": self.csrf},
                )
                with self.lock:
                    self.labels_sent.append((config, conversation_id, label, answer.status))
            step += 1


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def served(sample_db, tmp_path):
    db = tmp_path / "warehouse.duckdb"
    shutil.copy(sample_db, db)
    SearchIndex(search_index_path(db), db).update()
    port = free_port()
    server = subprocess.Popen(
        [str(BIN / "traces"), "serve", "--db", str(db), "--port", str(port)], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            with urllib.request.urlopen(base + "/search", timeout=5):
                break
        except OSError:
            if time.monotonic() > deadline or server.poll() is not None:
                server.kill()
                raise AssertionError("traces serve did not start: " + (server.stdout.read() if server.stdout else "")) from None
            time.sleep(0.2)
    try:
        yield base, db
    finally:
        server.terminate()
        server.wait(10)


def new_rows_file(tmp_path: Path) -> Path:
    rows = [dict(row, id=f"late-{row['id']}") for config, row in generate(NEW_ROWS * 2, seed=23) if config == "kimi"]
    return write_jsonl(tmp_path / "late" / "kimi.jsonl", rows)


def test_serve_under_load_while_an_ingest_and_a_build_write_the_warehouse(served, tmp_path):
    base, db = served
    con = duckdb.connect(str(db), read_only=True)
    keys = con.execute("select source_config, conversation_id from fct_conversations order by conversation_seq limit 40").fetchall()
    before = con.execute("select count(*) from fct_conversations").fetchone()[0]
    con.close()
    page = urllib.request.urlopen(f"{base}/conversations/{keys[0][0]}/{keys[0][1]}").read().decode()
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    load = Load(base, keys, csrf)
    for slug in ("overview", "tools", "errors"):  # the report pages as last read, for the time a writer has the file
        assert load.request("report", f"/report/{slug}").status == 200
    load.answers.clear()

    clients = [threading.Thread(target=load.client, args=(n,), daemon=True) for n in range(CLIENTS)]
    for thread in clients:
        thread.start()
    time.sleep(1)
    rows = new_rows_file(tmp_path)
    writes = []
    started = time.monotonic()
    for command in (["ingest", str(rows), "--config", "kimi"], ["build"]):
        writes.append(subprocess.run(
            [str(BIN / "traces"), *command, "--db", str(db)], capture_output=True, text=True, timeout=LOAD_SECONDS_MAX,
        ))
    writing_seconds = time.monotonic() - started
    time.sleep(1)
    load.stop.set()
    for thread in clients:
        thread.join(60)

    # No failed write.
    for done in writes:
        assert done.returncode == 0, done.stderr[-2000:]
    # Search, the report pages and label writes kept answering; only pages that read the warehouse answered 503.
    by_kind = Counter((a.kind, a.status) for a in load.answers)
    assert all(a.status in (200, 303, 503) for a in load.answers), by_kind
    assert all(a.status == 200 for a in load.answers if a.kind in ("search", "report")), by_kind
    busy = [a for a in load.answers if a.status == 503]
    assert busy, f"no request met the writers in {writing_seconds:.1f} s: {by_kind}"
    for answer in busy:
        assert NEEDS_WAREHOUSE[answer.kind] and answer.retry_after == "5"
        assert '<meta http-equiv="refresh" content="5">' in answer.body, answer.body
        assert re.search(r"<h1>An? (ingest|build) is running</h1>", answer.body), answer.body
    # Every label write stored (303) or refused with its status; none lost.
    stored = {(lb.source_config, lb.conversation_id, lb.label) for lb in LabelStore(labels_path(db)).labels()}
    accepted = {(c, i, label) for c, i, label, status in load.labels_sent if status == 303}
    assert accepted == stored and len(accepted) == sum(1 for *_, s in load.labels_sent if s == 303)
    assert all(status in (303, 400, 403) for *_, status in load.labels_sent)
    # The new conversations show without a restart.
    con = duckdb.connect(str(db), read_only=True)
    after = con.execute("select count(*) from fct_conversations").fetchone()[0]
    late = con.execute("select conversation_id from fct_conversations where conversation_id like 'late-%' limit 1").fetchone()[0]
    con.close()
    assert after == before + NEW_ROWS
    shown = load.request("conversation", f"/conversations/kimi/{late}")
    assert shown.status == 200 and late in shown.body
    listing = load.request("list", "/conversations").body
    assert int(re.search(r'<span id="total">(\d+)</span>', listing).group(1)) == after
