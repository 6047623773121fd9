"""Debian's Chromium for the browser tests, driven by Playwright (never a browser Playwright
downloads itself), and a fresh page that records the console's errors.

A browser test never skips silently: without Chromium it fails with one line that says how to
install it (``make test`` installs it itself when run as root with apt-get). Two variables,
read when the tests are collected:

- ``PAPERFEED_CHROMIUM``: the browser to drive (default ``/usr/bin/chromium``; ``make test
  CHROMIUM=...`` sets it);
- ``PAPERFEED_SKIP_BROWSER_TESTS=1``: skip the browser tests instead, on a machine that cannot
  have Chromium. CI never sets it.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from playwright.sync_api import Page

# Read now: the tests themselves run without PAPERFEED_* variables (tests/conftest.py).
CHROMIUM = os.environ.get("PAPERFEED_CHROMIUM") or "/usr/bin/chromium"
SKIP_BROWSER_TESTS = os.environ.get("PAPERFEED_SKIP_BROWSER_TESTS") == "1"
VARIABLES = ("PAPERFEED_CHROMIUM", "PAPERFEED_SKIP_BROWSER_TESTS")
ARGS = ["--headless", "--no-sandbox", "--disable-gpu"]
# The fixture (tests/web/conftest.py) checks once a session, before a module's server starts.
needs_chromium = pytest.mark.usefixtures("chromium")


def require_chromium(path: str = CHROMIUM, skip: bool = SKIP_BROWSER_TESTS) -> str:
    """The browser's path; without it the test fails, or skips where the opt-out is set."""
    if os.access(path, os.X_OK):
        return path
    if skip:
        pytest.skip(f"PAPERFEED_SKIP_BROWSER_TESTS=1 and no Chromium at {path}")
    pytest.fail(
        f"no Chromium at {path}: install Debian's (apt-get install chromium; `make test` does "
        "it as root) or set PAPERFEED_SKIP_BROWSER_TESTS=1 to skip the browser tests",
        pytrace=False,
    )


@contextmanager
def chromium_page(
    width: int = 1200, height: int = 900, **context: Any
) -> Iterator[tuple[Page, list[str]]]:
    """A page in a new browser, and the errors it logs (console errors, uncaught exceptions;
    a CSP violation is one). ``context``: Playwright's options for the browser context."""
    from playwright import sync_api

    executable = require_chromium()
    errors: list[str] = []
    with sync_api.sync_playwright() as driver:
        browser = driver.chromium.launch(executable_path=executable, args=ARGS)
        try:
            viewport = {"width": width, "height": height}
            page = browser.new_context(viewport=viewport, **context).new_page()
            page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
            page.on("pageerror", lambda e: errors.append(str(e)))
            yield page, errors
        finally:
            browser.close()
