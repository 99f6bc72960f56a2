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
