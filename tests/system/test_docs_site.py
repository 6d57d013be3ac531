"""The documentation site as README says to open it: from disk, in a browser. Its links
land on pages, not directory listings, and its search index is inlined for a browser that
opens it from disk (Material's offline plugin)."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import expect, sync_playwright

from tests.system.test_dashboard_browser import CHROMIUM, FLAGS

pytestmark = pytest.mark.system
SITE = Path(__file__).resolve().parents[2] / "build" / "site"


def test_the_docs_site_works_from_disk():
    if not (SITE / "index.html").exists():
        pytest.fail("no build/site: `make test` builds it (`make docs`)")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=FLAGS)
        page = browser.new_page()
        page.goto((SITE / "index.html").as_uri())
        page.click("nav >> text=Architecture")
        assert page.url.endswith("/architecture.html"), page.url
        expect(page.locator("h1").first).to_contain_text("Architecture")
        page.click("nav >> text=Write a driver for a new instrument")
        assert page.url.endswith("/howto/driver.html"), page.url
        browser.close()
    index = (SITE / "search" / "search_index.js").read_text()
    assert index.startswith("var __index = ") and "emergency stop" in index.lower()
