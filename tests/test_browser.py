"""The trace browser in a real headless Chromium (Debian's, installed by `make test`)."""

from __future__ import annotations

import shutil
import threading

import pytest
from PIL import Image
from playwright.sync_api import sync_playwright
from waitress import create_server

from reports.web.app import create_app

# Builds warehouses with dbt: the integration tier.
pytestmark = pytest.mark.integration

CHROMIUM_CANDIDATES = ("chromium", "chromium-browser")


def chromium_path() -> str:
    for name in CHROMIUM_CANDIDATES:
        found = shutil.which(name)
        if found:
            return found
    raise AssertionError("no chromium on PATH: `make test` installs Debian's chromium (make browser)")


@pytest.fixture(scope="module")
def server(sample_db):
    app = create_app(sample_db)
    httpd = create_server(app, host="127.0.0.1", port=0, threads=2)
    thread = threading.Thread(target=httpd.run, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.effective_port}"
    httpd.close()


def test_filter_open_a_conversation_and_expand_a_thought(server, tmp_path):
    shot = tmp_path / "conversation.png"
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium_path(), args=["--no-sandbox"])
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.goto(f"{server}/conversations")
            everything = int(page.inner_text("#total"))
            page.select_option("select[name=config]", "glm-5.1")
            page.check("input[name=has_error]")
            page.click("button[type=submit]")
            page.wait_for_url("**/conversations?*config=glm-5.1*")
            filtered = int(page.inner_text("#total"))
            assert 0 < filtered < everything
            assert "has_error=1" in page.url

            page.click("a.open >> nth=0")
            page.wait_for_selector("ol.timeline")
            thought = page.locator("details.thought:not(.empty)").first
            assert thought.get_attribute("open") is None
            thought.locator("summary").click()
            assert thought.get_attribute("open") is not None
            assert thought.locator("pre.thought-text").is_visible()
            page.screenshot(path=str(shot), full_page=False)
        finally:
            browser.close()
    image = Image.open(shot).convert("RGB")
    assert image.size == (1280, 900)
    colours = image.getcolors(maxcolors=1 << 20)
    assert colours is not None and len(colours) > 50, "the screenshot is blank"
    dominant = max(colours)[0] / (1280 * 900)
    assert dominant < 0.9, "one colour fills the screenshot"


@pytest.fixture(scope="module")
def explorer_server(sample_db, tmp_path_factory):
    """A copy of the sample with its own search index and label file, served as `traces serve` does."""
    from foundation.paths import search_index_path
    from reports.web.search import SearchIndex

    db = tmp_path_factory.mktemp("explorer-browser") / "warehouse.duckdb"
    shutil.copyfile(sample_db, db)
    SearchIndex(search_index_path(db), db).update()
    httpd = create_server(create_app(db), host="127.0.0.1", port=0, threads=2)
    thread = threading.Thread(target=httpd.run, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.effective_port}"
    httpd.close()


def test_search_compare_label_from_the_review_queue_and_filter_by_the_label(explorer_server):
    server = explorer_server
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium_path(), args=["--no-sandbox"])
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            # Search, then open a hit at its message.
            page.goto(f"{server}/search")
            page.fill("input[name=q]", '"tests failed"')
            page.click("form.search-form button[type=submit]")
            page.wait_for_selector("li.hit")
            assert int(page.inner_text("#hits")) > 0
            assert page.locator("li.hit .snippet b").first.inner_text().lower() in ("tests", "failed")
            href = page.locator("a.hit-link").first.get_attribute("href")
            anchor = href.split("#", 1)[1]
            page.click("a.hit-link >> nth=0")
            page.wait_for_selector("ol.timeline")
            assert page.url.endswith(f"#{anchor}")
            box = page.locator(f"#{anchor}").bounding_box()
            assert box is not None and 0 <= box["y"] < 900, "the hit's message is scrolled into view"

            # Choose two conversations in the list and compare them.
            page.goto(f"{server}/conversations?min_calls=3")
            page.check("input[name=pick] >> nth=0")
            page.check("input[name=pick] >> nth=1")
            page.click("button.compare-button")
            page.wait_for_url("**/compare?a=**")
            assert page.locator("table.alignment tr.step").count() > 0
            assert page.locator("table.compare-figures").is_visible()

            # Label the conversation the review queue shows; it moves on and counts it.
            page.goto(f"{server}/review?config=kimi")
            reviewed = int(page.inner_text("#reviewed"))
            labelled = page.inner_text("h1.conversation-id")
            page.fill("form.label-form input[name=label]", "browser-checked")
            page.fill("form.label-form input[name=note]", "looked fine")
            with page.expect_navigation(url="**/review?config=kimi"):
                page.click("form.label-form button[type=submit]")
            assert int(page.inner_text("#reviewed")) == reviewed + 1
            assert page.inner_text("h1.conversation-id") != labelled

            # The list's label filter finds it.
            page.goto(f"{server}/conversations")
            page.select_option("select[name=label]", "browser-checked")
            page.click("form.filters button[type=submit]")
            page.wait_for_url("**label=browser-checked*")
            assert int(page.inner_text("#total")) == 1
            assert page.inner_text("a.open") == labelled
        finally:
            browser.close()


def test_near_duplicates_from_the_report_to_a_cluster_and_back(server, sample_db):
    """The report's largest task cluster links to its list; a member's page names the cluster and
    its other members, each a link that opens."""
    import duckdb

    con = duckdb.connect(str(sample_db), read_only=True)
    try:
        cluster_id, size = con.execute(
            "select cluster_id, cluster_size from rpt_largest_near_duplicate_clusters where text_kind = 'task' and size_rank = 1"
        ).fetchone()
    finally:
        con.close()
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium_path(), args=["--no-sandbox"])
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.goto(f"{server}/report/near-duplicates")
            page.click(f"a:has-text('{cluster_id}')")
            page.wait_for_url(lambda url: "/conversations?cluster=" in url)  # the id holds a slash: no glob
            assert int(page.inner_text("#total")) == size
            page.click("a.open >> nth=0")
            page.wait_for_selector("section.near-duplicates")
            section = page.locator("section.near-duplicates")
            assert cluster_id in section.inner_text()
            members = section.locator("li a")
            assert members.count() == min(size - 1, 10)
            members.first.click()
            page.wait_for_selector("section.near-duplicates")
            assert cluster_id in page.locator("section.near-duplicates").inner_text()
        finally:
            browser.close()
