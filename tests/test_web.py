"""`traces serve`: every route over a real built warehouse, filters against SQL, escaping, locking."""

from __future__ import annotations

import re
import subprocess
import sys

import duckdb
import pytest

from foundation.warehouse import one_row
from ingest.loader import ingest
from ingest.synthetic.generator import generate
from reports.pages import PAGES
from reports.web.app import create_app
from reports.web.queries import PAGE_SIZE
from tests.helpers import write_jsonl
from transform.build import build


@pytest.fixture(scope="module")
def client(sample_db, tmp_path_factory):
    app = create_app(sample_db, charts_dir=tmp_path_factory.mktemp("charts"))
    return app.test_client()


def scalar(db, sql: str, params: list | None = None):
    con = duckdb.connect(str(db), read_only=True)
    try:
        return one_row(con, sql, params or [])[0]
    finally:
        con.close()


def listed_ids(html: str) -> list[str]:
    return re.findall(r'class="open" href="/conversations/[^/"]+/([^"]+)"', html)


def total_of(html: str) -> int:
    match = re.search(r'<span id="total">(\d+)</span>', html)
    assert match, "no total on the page"
    return int(match.group(1))


def test_report_pages_show_tables_charts_and_sql(client):
    for page in PAGES:
        response = client.get(f"/report/{page.slug}")
        assert response.status_code == 200, page.slug
        html = response.get_data(as_text=True)
        for section in page.sections:
            assert section.title.replace("'", "&#39;") in html
            assert section.sql.replace("'", "&#39;").replace(">", "&gt;").replace("<", "&lt;") in html
    home = client.get("/").get_data(as_text=True)
    chart = re.search(r'<img class="chart" src="([^"?]+)', home).group(1)
    png = client.get(chart)
    assert png.status_code == 200 and png.mimetype == "image/png" and png.data[:8] == b"\x89PNG\r\n\x1a\n"
    assert client.get("/report/no-such-page").status_code == 404


def test_report_tables_link_to_the_conversations_behind_them(client, sample_db):
    html = client.get("/report/errors").get_data(as_text=True)
    link = re.search(r'href="(/conversations\?category=[^"]*no_final_answer=1[^"]*)"', html)
    assert link, "the completion table links each category to its failing conversations"
    target = link.group(1).replace("&amp;", "&")
    category = re.search(r"category=([^&]+)", target).group(1).replace("+", " ")
    expected = scalar(sample_db, "select count(*) from fct_conversations where category = ? and not has_final_answer", [category])
    assert total_of(client.get(target).get_data(as_text=True)) == expected


def test_the_list_pages_through_every_conversation(client, sample_db):
    total = scalar(sample_db, "select count(*) from fct_conversations")
    first = client.get("/conversations").get_data(as_text=True)
    assert total_of(first) == total
    pages = -(-total // PAGE_SIZE)
    assert f"page 1 of {pages}" in first
    seen: list[str] = []
    for page in range(1, pages + 1):
        seen += listed_ids(client.get(f"/conversations?page={page}").get_data(as_text=True))
    assert len(seen) == total and len(set(seen)) == total
    # A page past the end shows the last one.
    assert listed_ids(client.get(f"/conversations?page={pages + 5}").get_data(as_text=True)) == seen[-(total - (pages - 1) * PAGE_SIZE):]


@pytest.mark.parametrize(
    "query, where",
    [
        ("config=kimi", "source_config = 'kimi'"),
        ("has_error=1", "n_tool_errors > 0"),
        ("recovered=1", "recovered_after_error"),
        ("stuck_loop=1", "has_stuck_loop"),
        ("iteration_limit=1", "hit_iteration_limit"),
        ("malformed=1", "n_malformed_calls > 0"),
        ("min_calls=5&max_calls=12", "n_tool_calls between 5 and 12"),
        ("config=glm-5.1&has_error=1&min_calls=3", "source_config = 'glm-5.1' and n_tool_errors > 0 and n_tool_calls >= 3"),
        ("tool=patch", "conversation_seq in (select conversation_seq from fct_tool_calls where tool_name = 'patch')"),
    ],
)
def test_filters_select_what_their_sql_selects(client, sample_db, query, where):
    expected = scalar(sample_db, f"select count(*) from fct_conversations where {where}")
    assert 0 < expected < scalar(sample_db, "select count(*) from fct_conversations"), "a filter the sample can test"
    html = client.get(f"/conversations?{query}").get_data(as_text=True)
    assert total_of(html) == expected
    # The filters stay in the URL of every link the page makes (paging, sorting).
    for link in re.findall(r'href="(/conversations\?[^"]*)"', html):
        if "sort=" in link or "page=" in link:
            for part in query.split("&"):
                assert part in link.replace("&amp;", "&"), link


def test_sorting_orders_by_the_column(client, sample_db):
    html = client.get("/conversations?sort=n_tool_calls&order=desc").get_data(as_text=True)
    top = listed_ids(html)[0]
    most = scalar(sample_db, "select max(n_tool_calls) from fct_conversations")
    assert scalar(sample_db, "select n_tool_calls from fct_conversations where conversation_id = ?", [top]) == most


def test_text_search_finds_thoughts_and_tool_output(client, sample_db):
    con = duckdb.connect(str(sample_db), read_only=True)
    try:
        thought_id, thought = con.execute(
            "select conversation_id, thought from fct_thoughts where n_chars > 60 order by thought_key limit 1"
        ).fetchone()
        output_id, output = con.execute(
            "select conversation_id, content from fct_tool_responses where length(content) > 80 "
            "order by tool_response_key desc limit 1"
        ).fetchone()
    finally:
        con.close()
    for conversation_id, text in ((thought_id, thought), (output_id, output)):
        needle = text[20:50]
        html = client.get("/conversations", query_string={"q": needle}).get_data(as_text=True)
        assert conversation_id in listed_ids(html) or total_of(html) > 50
        assert "(text scan)" in html and re.search(r"query took \d+ ms", html)
        # Smart case: all lowercase matches any case.
        lowered = client.get("/conversations", query_string={"q": needle.lower()}).get_data(as_text=True)
        assert total_of(lowered) >= total_of(html)
    assert total_of(client.get("/conversations?q=TASK").get_data(as_text=True)) < total_of(
        client.get("/conversations?q=task").get_data(as_text=True)
    )
    assert total_of(client.get("/conversations?q=%25_no_such_text_%25").get_data(as_text=True)) == 0


def test_bad_filters_are_refused_with_a_message(client):
    response = client.get("/conversations?min_calls=lots")
    assert response.status_code == 400 and "min_calls must be a whole number" in response.get_data(as_text=True)
    assert client.get("/conversations?sort=drop+table").status_code == 400


def test_a_conversation_reads_as_a_timeline(client, sample_db):
    con = duckdb.connect(str(sample_db), read_only=True)
    try:
        config, conversation_id, n_messages = con.execute(
            "select source_config, conversation_id, n_messages from fct_conversations "
            "where n_tool_errors > 0 and max_parallel_width > 1 and n_malformed_calls > 0 order by conversation_seq limit 1"
        ).fetchone()
        error_type = one_row(
            con,
            "select error_type from fct_tool_calls where conversation_id = ? and error_type is not null limit 1", [conversation_id]
        )[0]
        issue = one_row(
            con,
            "select parse_issue from fct_tool_calls where conversation_id = ? and parse_issue is not null limit 1", [conversation_id]
        )[0]
    finally:
        con.close()
    response = client.get(f"/conversations/{config}/{conversation_id}")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert len(re.findall(r'<li class="turn role-', html)) == n_messages
    assert '<details class="system">' in html and "parallel calls" in html
    assert f"error: {error_type}" in html and f"malformed: {issue}" in html


def test_unclosed_thoughts_orphans_and_unanswered_calls_are_marked(client, sample_db):
    cases = {
        "unclosed &lt;think&gt;": "n_unclosed_thoughts > 0",
        "unanswered": "n_unanswered_calls > 0",
    }
    for marker, where in cases.items():
        config, conversation_id = (
            duckdb.connect(str(sample_db), read_only=True)
            .execute(f"select source_config, conversation_id from fct_conversations where {where} limit 1")
            .fetchone()
        )
        assert marker in client.get(f"/conversations/{config}/{conversation_id}").get_data(as_text=True), marker


def test_unknown_conversation_is_404(client):
    response = client.get("/conversations/kimi/no-such-conversation")
    assert response.status_code == 404 and "no-such-conversation" in response.get_data(as_text=True)


HOLD_THE_WAREHOUSE = """
import sys
from pathlib import Path
from foundation.warehouse import connect
con = connect(Path(sys.argv[1]))
print("holding", flush=True)
sys.stdin.read()
con.close()
"""


def test_the_app_never_holds_the_warehouse(client, sample_db):
    assert client.get("/conversations").status_code == 200
    # Another process takes the write lock, as a build does: it could not if the app held the file.
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD_THE_WAREHOUSE, str(sample_db)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    try:
        assert holder.stdout.readline().strip() == "holding"
        busy = client.get("/conversations")
        assert busy.status_code == 503 and busy.headers["Retry-After"] == "5"
        assert "warehouse is in use" in busy.get_data(as_text=True)
    finally:
        holder.communicate("")
    assert client.get("/conversations").status_code == 200


HOSTILE_TASK = "Summarise <img src=x onerror=alert(1)> this page"
HOSTILE_OUTPUT = "<script>alert('pwned')</script>"


@pytest.fixture(scope="module")
def hostile_db(tmp_path_factory):
    root = tmp_path_factory.mktemp("hostile")
    rows = [row for config, row in generate(8, seed=5) if config == "kimi"]
    hostile = dict(rows[0], id="hostile", task=HOSTILE_TASK)
    turns = [dict(t) for t in hostile["conversations"]]
    tool_turn = next(i for i, t in enumerate(turns) if t["from"] == "tool")
    turns[tool_turn]["value"] = turns[tool_turn]["value"].replace("<tool_response>", "<tool_response>" + HOSTILE_OUTPUT, 1)
    # A response no call asked for: shown where it is, as an orphan.
    turns[tool_turn]["value"] += '\n<tool_response>{"tool_call_id": "call-nobody-made", "name": "ghost", "content": "boo"}</tool_response>'
    hostile["conversations"] = turns
    write_jsonl(root / "kimi.jsonl", rows + [hostile])
    db = root / "warehouse.duckdb"
    ingest(db, [str(root / "kimi.jsonl")], config="kimi")
    build(db, echo=False)
    return db


def test_trace_text_is_escaped(hostile_db):
    client = create_app(hostile_db).test_client()
    page = client.get("/conversations/kimi/hostile")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "<script>alert" not in html and "<img src=x" not in html
    assert "&lt;script&gt;alert(&#39;pwned&#39;)&lt;/script&gt;" in html
    assert "&lt;img src=x onerror=alert(1)&gt;" in html
    assert "orphan response" in html and "call-nobody-made" in html
    listing = client.get("/conversations?q=onerror").get_data(as_text=True)
    assert "<img src=x" not in listing and listed_ids(listing) == ["hostile"]
    assert "script-src" not in page.headers["Content-Security-Policy"]  # default-src 'none': no script at all
    assert page.headers["Content-Security-Policy"].startswith("default-src 'none'")


def test_search_snippets_escape_the_trace_text(hostile_db):
    from foundation.paths import search_index_path
    from reports.web.search import SearchIndex

    SearchIndex(search_index_path(hostile_db), hostile_db).update()
    html = create_app(hostile_db).test_client().get("/search?q=pwned").get_data(as_text=True)
    assert re.search(r'class="hit-link" href="/conversations/kimi/hostile#m\d+"', html)
    assert "<script" not in html and "&lt;script&gt;alert(" in html
    assert "<b>pwned</b>" in html


CLAIM_THE_TURN = """
import sys
from pathlib import Path
from foundation import turns
with turns.claim(Path(sys.argv[1]), "build"):
    print("claimed", flush=True)
    sys.stdin.read()
"""


def test_while_a_writer_has_its_turn_search_answers_and_pages_that_read_the_warehouse_reload(sample_db):
    client = create_app(sample_db).test_client()  # a fresh server: nothing read yet
    holder = subprocess.Popen(
        [sys.executable, "-c", CLAIM_THE_TURN, str(sample_db)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    try:
        assert holder.stdout.readline().strip() == "claimed"
        assert client.get("/search?q=file").status_code == 200
        busy = client.get("/conversations")
        html = busy.get_data(as_text=True)
        assert busy.status_code == 503 and busy.headers["Retry-After"] == "5"
        assert "<h1>A build is running</h1>" in html and '<meta http-equiv="refresh" content="5">' in html
        assert client.get("/").status_code == 503  # a report page never read before has nothing to show yet
    finally:
        holder.communicate("")
    assert client.get("/").status_code == 200
    assert client.get("/conversations").status_code == 200
