"""`traces serve`, step two: ranked search, compare, labels, the review queue, saved views and
their exports, and the checks that keep writes to this server's own pages. Over a copy of the
built sample, so the index and label file beside it are this module's own."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from html import unescape
from pathlib import Path
from urllib.parse import parse_qs, urlencode

import duckdb
import pytest

from foundation.labels import LabelStore
from foundation.paths import labels_path, search_index_path
from ingest.loader import ingest
from ingest.synthetic.generator import generate
from reports.web.app import create_app
from reports.web.search import FIELDS, SearchIndex, read_passages
from tests.helpers import run_cli, write_jsonl
from transform.build import build

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def db(sample_db, tmp_path_factory) -> Path:
    copy = tmp_path_factory.mktemp("explorer") / "warehouse.duckdb"
    shutil.copyfile(sample_db, copy)
    SearchIndex(search_index_path(copy), copy).update()
    return copy


@pytest.fixture(scope="module")
def app(db, tmp_path_factory):
    return create_app(db, charts_dir=tmp_path_factory.mktemp("charts"))


@pytest.fixture
def client(app):
    return app.test_client()


def rows(db: Path, sql: str, params: list | None = None) -> list[tuple]:
    con = duckdb.connect(str(db), read_only=True)
    try:
        return con.execute(sql, params or []).fetchall()
    finally:
        con.close()


def total_of(html: str) -> int:
    found = re.search(r'<span id="total">(\d+)</span>', html)
    assert found, "no total on the page"
    return int(found.group(1))


def hits_of(html: str) -> list[tuple[str, str, int, str]]:
    """(config, id, message index, field) of each search hit on the page."""
    found = re.findall(
        r'class="hit-link" href="/conversations/([^/"]+)/([^"#]+)#m(\d+)">.*?</a>\s*<span class="badge">(\w+)</span>', html, re.S
    )
    return [(c, i, int(m), f) for c, i, m, f in found]


def listed_keys(client, query: str) -> list[tuple[str, str]]:
    """Every conversation the list shows for ``query``, all pages."""
    keys: list[tuple[str, str]] = []
    page = 1
    while True:
        html = client.get(f"/conversations?{query}&page={page}").get_data(as_text=True)
        keys += re.findall(r'class="open" href="/conversations/([^/"]+)/([^"]+)"', html)
        if 'rel="next"' not in html:
            return keys
        page += 1


def passage_text(db: Path, config: str, conversation_id: str, message_index: int, field: str) -> str:
    (seq,) = rows(db, "select conversation_seq from fct_conversations where source_config = ? and conversation_id = ?", [config, conversation_id])[0]
    con = duckdb.connect(str(db), read_only=True)
    try:
        passages = read_passages(con, [seq])
    finally:
        con.close()
    return next(p.text for p in passages if p.message_index == message_index and p.field == field)


# -- search ------------------------------------------------------------------------------------

def test_search_ranks_passages_and_links_each_hit_to_its_message(client, db):
    html = client.get("/search?q=error").get_data(as_text=True)
    hits = hits_of(html)
    assert len(hits) == 20 and int(re.search(r'<span id="hits">(\d+)</span>', html).group(1)) > 20
    scores = [float(s) for s in re.findall(r"score (\d+\.\d+)", html)]
    assert scores == sorted(scores, reverse=True), "BM25 order"
    assert "<b>error</b>" in html.lower()
    config, conversation_id, message_index, field = hits[0]
    page = client.get(f"/conversations/{config}/{conversation_id}").get_data(as_text=True)
    assert f'id="m{message_index}"' in page
    assert "error" in passage_text(db, config, conversation_id, message_index, field).lower()
    # The next page continues the ranking.
    second = hits_of(client.get("/search?q=error&page=2").get_data(as_text=True))
    assert second and not set(second) & set(hits)


def test_query_syntax_phrases_exclusions_and_fields(client, db):
    phrase = hits_of(client.get('/search?q="tests failed"').get_data(as_text=True))
    assert phrase
    for config, cid, index, field in phrase:
        assert re.search(r"\btests\W+failed\b", passage_text(db, config, cid, index, field), re.I)
    both = hits_of(client.get("/search?q=tests+failed").get_data(as_text=True))
    assert len(both) >= len(phrase)  # all words, anywhere in the message
    excluded = hits_of(client.get("/search?q=error+-failed").get_data(as_text=True))
    assert excluded
    for config, cid, index, field in excluded:
        text = passage_text(db, config, cid, index, field)
        assert re.search(r"\berror\b", text, re.I) and not re.search(r"\bfailed\b", text, re.I)
    in_thoughts = hits_of(client.get("/search?q=thoughts:file").get_data(as_text=True))
    assert in_thoughts and {h[3] for h in in_thoughts} == {"thoughts"}
    for field in FIELDS:
        only = hits_of(client.get(f"/search?q=the&in={field}").get_data(as_text=True))
        assert {h[3] for h in only} <= {field}
    kimi = hits_of(client.get("/search?q=error&config=kimi").get_data(as_text=True))
    assert kimi and {h[0] for h in kimi} == {"kimi"}
    tool = hits_of(client.get("/search?q=error&tool=patch").get_data(as_text=True))
    users = {key for key in rows(db, "select distinct source_config, conversation_id from fct_tool_calls where tool_name = 'patch'")}
    assert tool and {(c, i) for c, i, _, _ in tool} <= users
    bad = client.get('/search?q="unclosed+phrase+AND+(').get_data(as_text=True)
    assert "cannot read the query" in bad


def test_the_list_search_uses_the_index_when_it_is_current(client, db):
    html = client.get("/conversations?q=nginx").get_data(as_text=True)
    assert "(search index)" in html
    expected = rows(
        db,
        "select count(distinct conversation_seq) from fct_tool_responses where regexp_matches(content, '(?i)\\bnginx\\b')",
    )[0][0]
    # The index also holds tasks, thoughts, calls and answers: at least every output that says it.
    assert total_of(html) >= expected > 0


# -- compare -----------------------------------------------------------------------------------

def test_compare_aligns_two_conversations_on_the_same_task(client, db):
    a_config, a_id = rows(
        db,
        "select a.source_config, a.conversation_id from fct_conversations a "
        "join fct_conversations b on a.task = b.task and a.source_config = 'kimi' and b.source_config = 'glm-5.1' "
        "where a.n_tool_calls > 2 order by a.conversation_seq limit 1",
    )[0]
    page = client.get(f"/conversations/{a_config}/{a_id}").get_data(as_text=True)
    link = re.search(r'href="(/compare\?a=kimi/([^&"]+)&amp;b=([^/"]+)/([^"]+))">Compare with', page)
    assert link, "a conversation links to the other model's on the same task"
    assert link.group(2) == a_id
    b_config, b_id = link.group(3), link.group(4)
    assert b_config == "glm-5.1"
    assert rows(db, "select count(distinct task) from fct_conversations where conversation_id in (?, ?)", [a_id, b_id]) == [(1,)]
    response = client.get(link.group(1).replace("&amp;", "&"))
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    for _config, cid in ((a_config, a_id), (b_config, b_id)):
        assert cid in html
        n_calls, n_errors = rows(db, "select n_tool_calls, n_tool_errors from fct_conversations where conversation_id = ?", [cid])[0]
        assert f'<td class="num">{n_calls}</td>' in html and f'<td class="num">{n_errors}</td>' in html
    tools = {cid: [t for (t,) in rows(db, "select coalesce(tool_name, '?') from fct_tool_calls where conversation_id = ? "
                                      "order by message_index, call_index", [cid])] for cid in (a_id, b_id)}
    aligned = re.findall(r'<tr class="step (\w+)">\s*<td>(.*?)</td>\s*<td class="kind">.*?</td>\s*<td>(.*?)</td>', html, re.S)

    def tool(cell: str) -> str | None:
        found = re.search(r">([^<]+)</a>", cell)
        return found.group(1) if found else None

    assert [tool(a) for _, a, _ in aligned if tool(a)] == tools[a_id]
    assert [tool(b) for _, _, b in aligned if tool(b)] == tools[b_id]
    for kind, a, b in aligned:
        assert (kind == "same") == (tool(a) is not None and tool(a) == tool(b))
    same = int(re.search(r'<span id="matching-steps">(\d+)</span>', html).group(1))
    assert same == sum(1 for kind, _, _ in aligned if kind == "same")


def test_compare_a_conversation_with_itself_matches_every_step_and_bad_requests_are_refused(client, db):
    config, cid, n_calls = rows(db, "select source_config, conversation_id, n_tool_calls from fct_conversations where n_tool_calls > 3 limit 1")[0]
    html = client.get("/compare", query_string={"a": f"{config}/{cid}", "b": f"{config}/{cid}"}).get_data(as_text=True)
    assert re.search(r'<span id="matching-steps">(\d+)</span>', html).group(1) == str(n_calls)
    picked = client.get("/compare", query_string=[("pick", f"{config}/{cid}"), ("pick", f"{config}/{cid}")])
    assert picked.status_code == 302 and "/compare?a=" in picked.headers["Location"]
    assert client.get("/compare", query_string={"pick": f"{config}/{cid}"}).status_code == 400
    assert client.get("/compare?a=kimi/nope&b=kimi/nope").status_code == 404
    assert client.get("/compare?a=nonsense&b=kimi/x").status_code == 400


# -- labels, writes ----------------------------------------------------------------------------

def some_conversation(db: Path, config: str = "kimi", offset: int = 0) -> tuple[str, str]:
    return rows(db, "select source_config, conversation_id from fct_conversations where source_config = ? "
                    "order by conversation_seq limit 1 offset ?", [config, offset])[0]


def test_label_a_conversation_and_filter_the_list_by_it(client, app, db):
    config, cid = some_conversation(db, offset=3)
    token = app.config["CSRF_TOKEN"]
    url = f"/conversations/{config}/{cid}/labels"
    saved = client.post(url, data={"label": "wrong_tool", "note": "used grep <then> gave up", "csrf_token": token})
    assert saved.status_code == 303 and saved.headers["Location"].endswith(f"/conversations/{config}/{cid}#labels")
    page = client.get(f"/conversations/{config}/{cid}").get_data(as_text=True)
    assert '<span class="badge label">wrong_tool</span>' in page and "used grep &lt;then&gt; gave up" in page
    assert listed_keys(client, "label=wrong_tool") == [(config, cid)]
    assert 'value="wrong_tool"' in client.get("/conversations").get_data(as_text=True)  # offered in the label filter
    removed = client.post(url, data={"label": "wrong_tool", "action": "remove", "csrf_token": token})
    assert removed.status_code == 303 and listed_keys(client, "label=wrong_tool") == []
    assert client.post(url, data={"label": "Not A Label", "csrf_token": token}).status_code == 400
    assert client.post("/conversations/kimi/no-such-id/labels", data={"label": "x", "csrf_token": token}).status_code == 404
    assert LabelStore(labels_path(db)).labels_of(config, cid) == []


@pytest.mark.parametrize(
    "case",
    ["no token", "wrong token", "foreign origin", "null origin", "cross-site fetch", "foreign host"],
)
def test_writes_from_anywhere_else_are_refused_and_nothing_is_written(client, app, db, case):
    config, cid = some_conversation(db)
    data = {"label": "forged", "csrf_token": app.config["CSRF_TOKEN"]}
    headers: dict[str, str] = {}
    if case == "no token":
        del data["csrf_token"]
    elif case == "wrong token":
        data["csrf_token"] = "guessed"
    elif case == "foreign origin":
        headers["Origin"] = "http://evil.example"
    elif case == "null origin":
        headers["Origin"] = "null"
    elif case == "cross-site fetch":
        headers["Sec-Fetch-Site"] = "cross-site"
    elif case == "foreign host":
        headers["Host"] = "rebound.evil.example:8000"
    before = labels_path(db).read_bytes() if labels_path(db).exists() else b""
    for url, form in ((f"/conversations/{config}/{cid}/labels", data), ("/views", {**data, "name": "forged", "query": "config=kimi"})):
        response = client.post(url, data=form, headers=headers)
        assert response.status_code == 403, (case, url)
    after = labels_path(db).read_bytes() if labels_path(db).exists() else b""
    assert after == before


def test_pages_are_not_served_to_a_foreign_host(client):
    # DNS rebinding: a page on evil.example whose name now points at 127.0.0.1 reads nothing.
    assert client.get("/conversations", headers={"Host": "evil.example"}).status_code == 403
    assert client.get("/search?q=error", headers={"Host": "evil.example:8000"}).status_code == 403
    assert client.get("/conversations", headers={"Host": "127.0.0.1:8000"}).status_code == 200
    assert client.get("/conversations", headers={"Host": "localhost"}).status_code == 200
    same_origin = client.get("/conversations").get_data(as_text=True)
    assert "<script" not in same_origin


def test_a_label_write_is_not_blocked_by_a_build_holding_the_warehouse(client, app, db):
    from tests.test_web import HOLD_THE_WAREHOUSE

    config, cid = some_conversation(db, offset=5)
    holder = subprocess.Popen([sys.executable, "-c", HOLD_THE_WAREHOUSE, str(db)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "holding"
        response = client.post(f"/conversations/{config}/{cid}/labels", data={"label": "during-build", "csrf_token": app.config["CSRF_TOKEN"]})
        assert response.status_code == 303
    finally:
        holder.communicate("")
    assert [lb.label for lb in LabelStore(labels_path(db)).labels_of(config, cid)] == ["during-build"]
    LabelStore(labels_path(db)).remove(config, cid, "during-build")


# -- review queue ------------------------------------------------------------------------------

def test_review_queue_moves_to_the_next_unlabelled_conversation(client, app, db):
    query = "config=glm-5.1&has_error=1"
    total = len(listed_keys(client, query))
    first = client.get(f"/review?{query}").get_data(as_text=True)
    reviewed = int(re.search(r'<span id="reviewed">(\d+)</span> of <span id="review-total">(\d+)</span>', first).group(1))
    assert re.search(r'id="review-total">(\d+)<', first).group(1) == str(total)
    shown = re.search(r'<h1 class="conversation-id">([^<]+)</h1>', first).group(1)
    action = re.search(r'<form class="label-form" method="post" action="([^"]+)"', first).group(1)
    next_url = re.search(r'name="next" value="([^"]+)"', first).group(1).replace("&amp;", "&")
    assert next_url == f"/review?{query}"
    done = client.post(action, data={"label": "reviewed", "csrf_token": app.config["CSRF_TOKEN"], "next": next_url})
    assert done.status_code == 303 and done.headers["Location"] == next_url
    after = client.get(next_url).get_data(as_text=True)
    assert f'<span id="reviewed">{reviewed + 1}</span>' in after
    assert re.search(r'<h1 class="conversation-id">([^<]+)</h1>', after).group(1) != shown
    # A write never sends the browser elsewhere.
    away = client.post(action, data={"label": "reviewed", "csrf_token": app.config["CSRF_TOKEN"], "next": "//evil.example/x"})
    assert away.headers["Location"].startswith("/conversations/")


# -- saved views and their exports -------------------------------------------------------------

def test_a_saved_view_exports_exactly_what_the_list_shows(client, app, db, tmp_path):
    query = "config=kimi&has_error=1&min_calls=3"
    saved = client.post("/views", data={"name": "kimi-errors", "query": query, "csrf_token": app.config["CSRF_TOKEN"]})
    assert saved.status_code == 303
    listing = client.get("/conversations").get_data(as_text=True)
    assert 'href="/conversations?view=kimi-errors"' in listing
    assert client.get("/conversations?view=kimi-errors").headers["Location"].endswith(query)
    shown = set(listed_keys(client, query))
    assert shown
    out = tmp_path / "by-view"
    run_cli("export", "--db", str(db), "--out", str(out), "--view", "kimi-errors", "--tokenizer", "none", check=True)
    manifest = json.loads((out / "trl-messages.manifest.json").read_text())
    exported = {tuple(json.loads(line)["id"].split("/", 1)) for line in (out / "trl-messages.jsonl").read_text().splitlines()}
    by_rules = sum(n for reason, n in manifest["excluded"].items() if reason != "not_in_view")
    assert exported <= shown and len(exported) + by_rules == len(shown)
    assert manifest["excluded"]["not_in_view"] == manifest["rows_in"] - len(shown)
    assert manifest["filters"]["view"] == "kimi-errors"
    # The list's download link streams the same rows.
    download = client.get(f"/conversations/export.jsonl?{query}")
    assert download.status_code == 200 and download.mimetype == "application/x-ndjson"
    assert download.get_data(as_text=True) == (out / "trl-messages.jsonl").read_text()


def test_export_by_label_and_by_excluded_label(db, tmp_path):
    store = LabelStore(labels_path(db))
    chosen = [some_conversation(db, "glm-5.1", n) for n in range(4)]
    for key in chosen:
        store.add(*key, "gold")
    store.add(*chosen[0], "leaked")
    out = tmp_path / "by-label"
    run_cli(
        "export", "--db", str(db), "--out", str(out), "--label", "gold", "--exclude-label", "leaked", "--tokenizer", "none",
        "--no-exclude-malformed", check=True,
    )
    exported = [tuple(json.loads(line)["id"].split("/", 1)) for line in (out / "trl-messages.jsonl").read_text().splitlines()]
    manifest = json.loads((out / "trl-messages.manifest.json").read_text())
    assert set(exported) == set(chosen[1:])
    assert manifest["excluded"]["excluded_label"] == 1 and manifest["filters"]["labels"] == ["gold"]
    assert manifest["rows_out"] + sum(manifest["excluded"].values()) == manifest["rows_in"]
    for key in chosen:
        store.remove(*key, "gold")
    store.remove(*chosen[0], "leaked")


# -- labels outlive the warehouse; the index follows it ----------------------------------------

def test_labels_survive_a_new_warehouse_and_the_index_updates_incrementally(tmp_path):
    root = tmp_path
    generated = list(generate(40, seed=23))
    first = [row for _, row in generated[:30]]
    write_jsonl(root / "first.jsonl", first)
    db = root / "warehouse.duckdb"
    ingest(db, [str(root / "first.jsonl")], config="kimi")
    build(db, echo=False)
    index = SearchIndex(search_index_path(db), db)
    assert index.update().added == 30
    store = LabelStore(labels_path(db))
    store.add("kimi", first[0]["id"], "keep", "checked by hand")
    store.add("kimi", first[1]["id"], "drop")

    # New rows and one changed row: only those are indexed again, the changed one's old passages go.
    changed = dict(first[2], task="A task rewritten with the word zebracorn")
    more = [row for _, row in generated[30:]]
    write_jsonl(root / "more.jsonl", more + [changed])
    ingest(db, [str(root / "more.jsonl")], config="kimi")
    build(db, echo=False)
    report = index.update()
    assert (report.added, report.removed, report.unchanged) == (11, 1, 29)
    found = index.search("zebracorn")
    assert found.total == 1 and found.hits[0].conversation_id == first[2]["id"]
    assert index.update().added == 0 and index.is_current()

    def labels_in_warehouse() -> set[tuple]:
        return set(rows(db, "select conversation_id, label, note, is_in_warehouse from dim_conversation_labels"))

    # A new warehouse from scratch (a full rebuild of a re-ingest): the labels are still there,
    # apply to the same conversations, and one given meanwhile is in the table after the build.
    store.add("kimi", "not-ingested", "later")
    for path in root.glob("warehouse.duckdb*"):
        if path.is_file() and not path.name.endswith(".labels.jsonl"):
            path.unlink()
    ingest(db, [str(root / "first.jsonl")], config="kimi")
    build(db, echo=False)
    assert labels_in_warehouse() == {
        (first[0]["id"], "keep", "checked by hand", True), (first[1]["id"], "drop", None, True),
        ("not-ingested", "later", None, False),
    }
    assert len(store.labels()) == 3


def test_serve_updates_the_index_in_the_background_and_search_says_so_meanwhile(db, tmp_path):
    copy = tmp_path / "warehouse.duckdb"
    shutil.copyfile(db, copy)
    app = create_app(copy, index_in_background=True)
    client = app.test_client()
    first = client.get("/search?q=error").get_data(as_text=True)
    assert 'id="index-status"' in first  # not built yet: says so
    listing = client.get("/conversations?q=error").get_data(as_text=True)
    app.extensions["indexer"].wait(120)
    assert app.extensions["indexer"].status().ready
    ready = client.get("/search?q=error").get_data(as_text=True)
    assert 'id="index-status"' not in ready and hits_of(ready)
    assert "(text scan)" in listing or "(search index)" in listing
    assert "(search index)" in client.get("/conversations?q=error").get_data(as_text=True)


def test_traces_index_and_labels_commands(db, tmp_path):
    indexed = run_cli("index", "--db", str(db), check=True)
    assert "0 conversations added" in indexed.stdout and "unchanged" in indexed.stdout
    LabelStore(labels_path(db)).add("kimi", "shared-one", "shared", "a, note")
    exported = tmp_path / "labels.csv"
    run_cli("labels", "export", str(exported), "--db", str(db), check=True)
    other = tmp_path / "other" / "warehouse.duckdb"
    other.parent.mkdir()
    result = run_cli("labels", "import", str(exported), "--db", str(other), check=True)
    assert "new" in result.stdout
    assert ("kimi", "shared-one", "shared", "a, note") in {
        (lb.source_config, lb.conversation_id, lb.label, lb.note) for lb in LabelStore(labels_path(other)).labels()
    }
    bad = run_cli("export", "--db", str(db), "--out", str(tmp_path / "x"), "--view", "nope")
    assert bad.returncode != 0 and "no saved view 'nope'" in bad.stderr
    LabelStore(labels_path(db)).remove("kimi", "shared-one", "shared")


def test_search_urls_round_trip(client):
    query = urlencode([("q", "error"), ("in", "outputs"), ("in", "thoughts"), ("config", "kimi")])
    html = client.get(f"/search?{query}").get_data(as_text=True)
    assert {h[3] for h in hits_of(html)} <= {"outputs", "thoughts"}
    assert 'value="outputs" checked' in html and 'value="thoughts" checked' in html and 'value="task" checked' not in html


# -- error signatures (#30) --------------------------------------------------------------------

def test_error_signatures_count_every_error_and_filter_the_list(client, db):
    from markupsafe import escape

    errors = rows(db, "select count(*) from fct_tool_responses where is_error")[0][0]
    assert errors > 0 and rows(db, "select sum(n_errors) from fct_error_signatures")[0][0] == errors
    # Errors whose lines differ only in a path are one signature.
    signature, n_lines = rows(
        db,
        "select error_signature, count(distinct i.error_line) from fct_tool_responses r "
        "join intermediate.int_tool_error_signatures i using (source_config, conversation_id, message_index, response_index) "
        "where error_signature like '%<path>%' group by 1 order by 2 desc limit 1",
    )[0]
    assert n_lines > 1
    expected = set(rows(db, "select distinct source_config, conversation_id from fct_tool_responses where error_signature = ?", [signature]))
    assert set(listed_keys(client, urlencode({"signature": signature}))) == expected
    config, cid = sorted(expected)[0]
    page = client.get(f"/conversations/{config}/{cid}").get_data(as_text=True)
    links = re.findall(r'class="signature" href="/conversations\?([^"]+)"', page)
    assert {"signature": [signature]} in [parse_qs(unescape(link)) for link in links]
    assert str(escape(signature)) in page
    report = client.get("/report/errors").get_data(as_text=True)
    assert "How tools fail" in report and "/conversations?signature=" in report


def test_schema_violations_filter_the_list_and_show_on_the_call(client, db):
    expected = set(rows(
        db,
        "select distinct source_config, conversation_id from fct_tool_calls where schema_issue in "
        "('unknown_tool', 'missing_required', 'unexpected_argument', 'wrong_type', 'enum_violation')",
    ))
    assert expected and set(listed_keys(client, "schema_violation=1")) == expected
    config, cid = rows(db, "select source_config, conversation_id from fct_tool_calls where schema_issue = 'no_tool_definitions' limit 1")[0]
    assert "no tool definitions" in client.get(f"/conversations/{config}/{cid}").get_data(as_text=True)
