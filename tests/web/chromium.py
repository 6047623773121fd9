"""Debian's Chromium for the browser tests, driven by Playwright (never a browser Playwright
downloads itself), and a fresh page that records the console's errors."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from playwright.sync_api import Page

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu"]
needs_chromium = pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="needs Debian's chromium")


@contextmanager
def chromium_page(
    width: int = 1200, height: int = 900, **context: Any
) -> Iterator[tuple[Page, list[str]]]:
    """A page in a new browser, and the errors it logs (console errors, uncaught exceptions;
    a CSP violation is one). ``context``: Playwright's options for the browser context."""
    sync_api = pytest.importorskip("playwright.sync_api")
    errors: list[str] = []
    with sync_api.sync_playwright() as driver:
        browser = driver.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            viewport = {"width": width, "height": height}
            page = browser.new_context(viewport=viewport, **context).new_page()
            page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
            page.on("pageerror", lambda e: errors.append(str(e)))
            yield page, errors
        finally:
            browser.close()
