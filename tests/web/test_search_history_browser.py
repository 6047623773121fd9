"""The search page's history in real Chromium: after Back and Forward the form shows what the
address says (and so what the results are for), and quick filter changes end on the last one.

htmx swaps only ``#results`` and pushes each search's address; these are the traps of that.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

# The site and its seed papers, and the check for Chromium: as test_browser.
from tests.web.chromium import chromium_page
from tests.web.test_browser import playwright, pytestmark, shots, site, site_engine

if TYPE_CHECKING:
    from playwright.sync_api import Page, Route

__all__ = ["pytestmark", "shots", "site", "site_engine"]
expect = playwright.expect


def _open(page: Page, url: str) -> None:
    page.goto(url)
    expect(page.locator("#results .paper-title").first).to_be_visible()


def _values(page: Page) -> dict[str, str]:
    """What the search form holds now."""
    names = ("q", "cat", "author", "from", "to", "sort")
    return {name: page.locator(f"form.search-form [name={name}]").input_value() for name in names}


def _run(steps: Callable[[Page], None]) -> list[str]:
    """Run ``steps`` in a fresh Chromium page; the console's errors."""
    with chromium_page() as (page, errors):
        steps(page)
    return errors


def test_back_and_forward_leave_the_form_as_the_address_says(site: str, shots: Path) -> None:
    def steps(page: Page) -> None:
        _open(page, f"{site}/search?q=transformer")
        page.click("details.search-filters summary")
        page.fill("input[name=cat]", "cs.CV")
        page.press("input[name=cat]", "Tab")
        page.wait_for_url(re.compile(r"cat=cs\.CV"))
        page.select_option("select[name=sort]", "date")
        page.wait_for_url(re.compile(r"sort=date"))

        page.go_back()
        page.wait_for_url(lambda url: "cat=cs.CV" in url and "sort=date" not in url)
        page.screenshot(path=shots / "search-back.png")
        expect(page.locator("#results")).to_contain_text("No papers in cs.CV match")
        want = {"q": "transformer", "cat": "cs.CV", "author": "", "from": "", "to": ""}
        assert _values(page) == {**want, "sort": "relevance"}

        # The next change builds on the filters the address shows: cs.CV is not dropped.
        page.select_option("select[name=sort]", "upvotes")
        page.wait_for_url(re.compile(r"sort=upvotes"))
        assert "cat=cs.CV" in page.url and "q=transformer" in page.url

        # The query box too, and the address carries no empty or default filter.
        page.goto(f"{site}/search")
        page.locator("#search-q").press_sequentially("graph", delay=20)
        page.wait_for_url(re.compile(r"q=graph"))
        assert page.url == f"{site}/search?q=graph"
        page.fill("#search-q", "")
        page.locator("#search-q").press_sequentially("attention", delay=20)
        page.wait_for_url(re.compile(r"q=attention"))
        expect(page.locator("#results .paper-title").first).to_contain_text(
            re.compile("attention", re.I)
        )
        page.go_back()
        page.wait_for_url(re.compile(r"q=graph"))
        expect(page.locator("#search-q")).to_have_value("graph")
        page.go_forward()
        page.wait_for_url(re.compile(r"q=attention"))
        expect(page.locator("#search-q")).to_have_value("attention")
        page.screenshot(path=shots / "search-forward.png")
        assert "attention" in page.locator("#results").inner_text().lower()

    assert _run(steps) == []


def test_the_last_of_quick_filter_changes_wins(site: str, shots: Path) -> None:
    """A slow answer to an earlier change neither holds up nor overrides the last change."""

    def steps(page: Page) -> None:
        _open(page, f"{site}/search?q=transformer")
        held: list[Route] = []

        def hold_the_first(route: Route) -> None:
            if "sort=date" in route.request.url and not held:
                held.append(route)  # answered only once the later change is shown
            else:
                route.continue_()

        page.route(re.compile(r"/search\?"), hold_the_first)
        page.click("details.search-filters summary")
        page.select_option("select[name=sort]", "date")
        while not held:  # the first change's request is on its way
            page.wait_for_timeout(20)
        page.select_option("select[name=sort]", "upvotes")
        page.wait_for_url(re.compile(r"sort=upvotes"), timeout=5000)
        with contextlib.suppress(Exception):  # the browser may have dropped it already
            held[0].continue_()
        page.wait_for_timeout(500)  # time for a late answer to do harm, if it still could
        page.screenshot(path=shots / "search-quick.png")
        assert page.url == f"{site}/search?q=transformer&sort=upvotes"
        expect(page.locator("select[name=sort]")).to_have_value("upvotes")

    # htmx logs the request it aborted (hx-sync replace) as an error: nothing else may be one.
    assert set(_run(steps)) <= {"htmx:afterRequest", "htmx:sendAbort"}
