"""The Evidence project `traces report --evidence` writes, built by Evidence itself and read in Chromium.

One project over the sample's warehouse: `npm install` (its node_modules kept in build/evidence
between runs), `npm run sources`, `npm run build`, with no network but the package registry. The
built site is served over HTTP and every page opened in Chromium: its charts drawn, its tables
holding the warehouse's rows, a value like `<path>` read as text.
"""

from __future__ import annotations

import fcntl
import math
import os
import re
import shutil
import subprocess
import threading
import time
import urllib.request
from collections.abc import Iterator
from decimal import Decimal
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import duckdb
import pytest

from foundation.paths import PROJECT_DIR
from foundation.warehouse import one_row
from reports.evidence.project import EVIDENCE_PACKAGES
from reports.pages import PAGES
from tests.helpers import run_cli
from tests.test_browser import chromium_path

pytestmark = pytest.mark.integration

# Kept between runs (gitignored): the ~700 MB of node_modules install once per checkout.
PROJECT = PROJECT_DIR / "build" / "evidence"
NPM_TIMEOUT = 900


def _npm(*args: str, cwd: Path) -> str:
    npm = shutil.which("npm")
    assert npm, "no npm on PATH: `make test` installs Node (make node)"
    # Evidence's usage statistics would try the internet on every command.
    env = dict(os.environ, SEND_ANONYMOUS_USAGE_STATS="no", NO_COLOR="1")
    done = subprocess.run(
        [npm, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=NPM_TIMEOUT, check=False
    )
    output = done.stdout + done.stderr
    assert done.returncode == 0, f"npm {' '.join(args)} failed:\n{output[-4000:]}"
    return output


@pytest.fixture(scope="module")
def evidence_project(sample_db, tmp_path_factory) -> Iterator[dict]:
    # One user of the shared folder at a time, for the module's whole run: pytest-xdist may hand its
    # tests to two workers (two npm installs in one node_modules break it), and a second run would
    # rebuild the site under the first one's browser.
    PROJECT.parent.mkdir(parents=True, exist_ok=True)
    with open(PROJECT.parent / "evidence.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        # As a user makes it: `traces report --evidence DIR`.
        reports = tmp_path_factory.mktemp("markdown")
        made = run_cli("report", "--db", str(sample_db), "--out", str(reports), "--evidence", str(PROJECT), check=True)
        assert f"evidence: {len(PAGES) + 1} pages → {PROJECT}" in made.stdout
        assert (reports / "index.md").exists()
        install = _npm("install", "--no-audit", "--no-fund", cwd=PROJECT)
        sources = _npm("run", "sources", cwd=PROJECT)
        build = _npm("run", "build", cwd=PROJECT)
        yield {"install": install, "sources": sources, "build": build}


class QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


class QuietServer(ThreadingHTTPServer):
    def handle_error(self, request, client_address) -> None:
        # A browser that cancels a fetch it no longer needs (Evidence does) breaks the pipe.
        pass


@pytest.fixture(scope="module")
def site(evidence_project):
    server = QuietServer(("127.0.0.1", 0), partial(QuietHandler, directory=str(PROJECT / "build")))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


def _rpt_tables(db: Path) -> dict[str, int]:
    con = duckdb.connect(str(db), read_only=True)
    try:
        names = [r[0] for r in con.execute(
            "select table_name from information_schema.tables where table_name like 'rpt\\_%' escape '\\'"
        ).fetchall()]
        return {name: one_row(con, f"select count(*) from {name}")[0] for name in names}
    finally:
        con.close()


def test_the_project_pins_evidence_and_patches_the_download_away(evidence_project):
    package = (PROJECT / "package.json").read_text()
    for name, version in EVIDENCE_PACKAGES.items():
        assert f'"{name}": "{version}"' in package
    installed = PROJECT / "node_modules" / "@evidence-dev" / "evidence" / "package.json"
    assert '"version": "40.1.8"' in installed.read_text()
    # The postinstall applied both patches, so the data step never reads parquet through DuckDB-WASM.
    assert "@evidence-dev/universal-sql@3.0.1 ✔" in evidence_project["install"]
    assert "@evidence-dev/evidence@40.1.8 ✔" in evidence_project["install"]
    assert "not yet covered by allowScripts" not in evidence_project["install"]  # each one decided
    build_parquet = PROJECT / "node_modules" / "@evidence-dev" / "universal-sql" / "src" / "build-parquet.js"
    assert "FROM read_parquet(" not in build_parquet.read_text()


def test_sources_read_every_rpt_table_of_the_warehouse(evidence_project, sample_db):
    tables = _rpt_tables(sample_db)
    sqls = sorted(p.stem for p in (PROJECT / "sources" / "warehouse").glob("*.sql"))
    assert sqls == sorted(tables)
    for table, count in tables.items():
        assert re.search(rf"{table} ✔ Finished, wrote {count} rows", evidence_project["sources"]), table
    connection = (PROJECT / "sources" / "warehouse" / "connection.yaml").read_text()
    filename = re.search(r'filename: "(.+)"', connection).group(1)
    assert (PROJECT / "sources" / "warehouse" / filename).resolve() == sample_db.resolve()


def test_every_page_has_its_title_its_queries_and_a_component_per_declared_chart(evidence_project):
    for position, page in enumerate(PAGES, start=1):
        text = (PROJECT / "pages" / f"{page.slug}.md").read_text()
        assert text.startswith(f'---\ntitle: "{page.title}"\nsidebar_position: {position}\n---\n')
        for section in page.sections:
            assert f"```sql {section.query_name}\n" in text
            for model in section.models:
                assert f"warehouse.{model}" in text
        charts = [s for s in page.sections if s.chart_spec]
        drawn = re.findall(r"^<(BarChart|LineChart|Heatmap|Histogram)$", text, flags=re.M)
        assert len(drawn) == len(charts), page.slug
        assert len(re.findall(r"^<DataTable ", text, flags=re.M)) == len(page.sections)
    index = (PROJECT / "pages" / "index.md").read_text()
    for page in PAGES:
        assert f"](/{page.slug})" in index  # Evidence's routes, not .md files


def test_every_page_answers_over_http(site):
    for slug in ["", *(page.slug for page in PAGES)]:
        with urllib.request.urlopen(f"{site}/{slug}") as response:
            assert response.status == 200, slug


def _shown_equals(text: str, value: object) -> bool:
    """Whether a DataTable cell shows ``value`` (Evidence formats numbers: 1,315 / 0.287 / 12.4k)."""
    text = " ".join(text.split())
    if value is None:
        return text in {"", "-", "–", "—", "null", "∅"}
    if isinstance(value, bool):
        return text == str(value).lower()
    if isinstance(value, (int, float, Decimal)):
        match = re.fullmatch(r"(-?[\d,]*\.?\d*)([kMB%]?)", text)
        if not match or not match.group(1):
            return False
        digits = match.group(1).replace(",", "")
        scale = {"": 1, "k": 1e3, "M": 1e6, "B": 1e9, "%": 0.01}[match.group(2)]
        decimals = len(digits.split(".")[1]) if "." in digits else 0
        return math.isclose(float(digits) * scale, float(value), abs_tol=0.5 * 10 ** -decimals * scale + 1e-9)
    return text == " ".join(str(value).split())


def test_pages_draw_their_charts_and_show_the_warehouses_rows_in_chromium(site, sample_db):
    from playwright.sync_api import sync_playwright

    con = duckdb.connect(str(sample_db), read_only=True)
    try:
        expected = {s.query_name: con.execute(s.sql).fetchall() for page in PAGES for s in page.sections}
    finally:
        con.close()
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium_path(), args=["--no-sandbox"])
        try:
            for page in [None, *PAGES]:
                tab = browser.new_page()
                problems: list[str] = []
                tab.on("pageerror", lambda error, problems=problems: problems.append(f"page error: {error}"))
                tab.on("response", lambda r, problems=problems: problems.append(f"{r.status} {r.url}") if r.status >= 400 else None)
                tab.goto(f"{site}/{page.slug if page else ''}")
                if page is None:
                    tab.wait_for_selector("text=Conversations")
                    # The sidebar lists the pages in pages.yml's order (sidebar_position), not by name.
                    linked = tab.evaluate("() => Array.from(document.querySelectorAll('aside a')).map(a => a.getAttribute('href'))")
                    assert [href for href in linked if href in {f"/{p.slug}" for p in PAGES}] == [f"/{p.slug}" for p in PAGES]
                    assert not problems, problems
                    tab.close()
                    continue
                charts = [s for s in page.sections if s.chart_spec]
                if charts:
                    tab.wait_for_function(
                        f"document.querySelectorAll('div[_echarts_instance_] canvas, div[_echarts_instance_] svg').length >= {len(charts)}",
                        timeout=30_000,
                    )
                assert tab.locator("div[_echarts_instance_]").count() == len(charts), page.slug
                filled = sum(1 for s in page.sections if expected[s.query_name])
                tab.wait_for_function(
                    "Array.from(document.querySelectorAll('table')).filter(t => t.offsetParent !== null"
                    f" && t.querySelector('td[role=cell]')).length >= {filled}",
                    timeout=30_000,
                )
                tables = tab.evaluate(
                    """() => Array.from(document.querySelectorAll('table'))
                        .filter(t => t.offsetParent !== null)
                        .map(t => Array.from(t.querySelectorAll('tr'))
                            .map(r => Array.from(r.querySelectorAll('td[role=cell]')).map(td => td.innerText))
                            .filter(cells => cells.length))"""
                )
                assert len(tables) == len(page.sections), page.slug
                for section, shown in zip(page.sections, tables, strict=True):
                    rows = expected[section.query_name]
                    assert len(shown) == min(len(rows), 200), section.query_name
                    for shown_row, row in zip(shown, rows, strict=False):
                        assert len(shown_row) == len(row), section.query_name
                        for text, value in zip(shown_row, row, strict=True):
                            assert _shown_equals(text, value), (section.query_name, text, value)
                if page.slug == "errors":
                    # A signature's placeholder reads as text, not as a tag the page swallowed.
                    assert tab.locator("td", has_text="File not found: <path>").count() >= 1
                assert not problems, (page.slug, problems)
                tab.close()
        finally:
            browser.close()


def test_the_browser_queries_the_tables_offline(site, sample_db):
    """Evidence's DuckDB-WASM in the page holds every table, loaded without the network (a page's
    inputs and filters query it again)."""
    from playwright.sync_api import sync_playwright

    tables = _rpt_tables(sample_db)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium_path(), args=["--no-sandbox"])
        try:
            tab = browser.new_page()
            outside: list[str] = []
            tab.on("request", lambda r: outside.append(r.url) if not r.url.startswith(site) else None)
            tab.goto(f"{site}/tools")
            # The page creates its engine, opens it, then loads the tables: ask again (a fresh
            # connection each time, each try bounded) until every table answers.
            ask = """async (names) => {
                const timeout = new Promise((_, reject) => setTimeout(() => reject(new Error('timeout')), 5000));
                const counts = (async () => {
                    const connection = await window[Symbol.for('EVIDENCE_QUERY_ENGINE')].connect();
                    const counts = {};
                    for (const name of names) {
                        const result = await connection.query(`select count(*)::int as n from warehouse.${name}`);
                        counts[name] = result.toArray()[0].n;
                    }
                    return counts;
                })();
                try { return await Promise.race([counts, timeout]); } catch (error) { return String(error); }
            }"""
            deadline = time.monotonic() + 60
            counts = tab.evaluate(ask, sorted(tables))
            while not isinstance(counts, dict) and time.monotonic() < deadline:
                tab.wait_for_timeout(300)
                counts = tab.evaluate(ask, sorted(tables))
            assert counts == tables
            assert not outside, outside
        finally:
            browser.close()
