"""In real Chromium: "Log out" (a form's button) looks like the header's other links; a visitor
who is not signed in upvotes by logging in, with no failing request (no console error); the
library's tags field and a refused comment, screenshotted."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import Engine, select

from paperfeed.store.schema import papers
from tests.factories import add_user

# The site and its seed papers, and the check for Chromium: as test_browser.
from tests.web.chromium import chromium_page
from tests.web.test_browser import pytestmark, shots, site, site_engine

if TYPE_CHECKING:
    from playwright.sync_api import Page

__all__ = ["pytestmark", "shots", "site", "site_engine"]

PASSWORD = "analytical engine 1843"
# What makes a nav item look like the others: the button is compared with the links.
LOOK = """element => {
  const s = getComputedStyle(element);
  return [s.textDecorationLine, s.fontWeight, s.fontSize, s.color, s.backgroundColor];
}"""


def _reader(engine: Engine) -> None:
    add_user(engine, "ada", password=PASSWORD)


def _first_paper(engine: Engine) -> str:
    with engine.connect() as conn:
        query = select(papers.c.id).where(papers.c.featured_day.is_not(None)).limit(1)
        return str(conn.execute(query).scalar_one())


def _log_in(page: Page, site: str, path: str) -> None:
    page.goto(f"{site}/login?next={path}")
    page.fill("#login-name", "ada")
    page.fill("#login-password", PASSWORD)
    page.click("form.auth-form button[type=submit]")
    page.wait_for_url(f"{site}{path}")


def test_a_visitor_s_upvote_logs_in_first_with_no_failing_request(
    site_engine: tuple[str, Engine], site: str, shots: Path
) -> None:
    engine = site_engine[1]
    _reader(engine)
    paper_id = _first_paper(engine)
    failed: list[str] = []
    with chromium_page() as (page, errors):
        page.on("response", lambda r: failed.append(r.url) if r.status >= 400 else None)
        page.goto(f"{site}/")
        page.screenshot(path=shots / "home-signed-out.png")
        page.goto(f"{site}/papers/{paper_id}")
        page.locator(".community").screenshot(path=shots / "paper-signed-out.png")
        # The link looks like the signed-in button (not an underlined link).
        assert page.locator(".community a.vote-button").evaluate(LOOK)[0] == "none"
        page.click(".community .vote-button")
        page.wait_for_url(lambda url: "/login?next=" in url)
        page.fill("#login-name", "ada")
        page.fill("#login-password", PASSWORD)
        page.click("form.auth-form button[type=submit]")
        page.wait_for_url(f"{site}/papers/{paper_id}")
        # Back on the paper, signed in: the button is the htmx form and counts the vote.
        page.click(".community form.vote-form button")
        page.wait_for_selector(".community .vote-button[aria-pressed=true]")
    assert errors == [] and failed == []


def test_log_out_looks_like_the_other_links_of_the_header(
    site_engine: tuple[str, Engine], site: str, shots: Path
) -> None:
    _reader(site_engine[1])
    with chromium_page() as (page, _):
        _log_in(page, site, "/trending")
        nav = page.locator("nav.site-nav")
        logout = nav.locator("button.link-button")
        assert logout.inner_text() == "Log out"
        assert logout.evaluate(LOOK) == nav.locator("a[href='/library']").evaluate(LOOK)
        assert logout.evaluate(LOOK)[0] == "none"  # not underlined, as the links are not
        page.locator("header.site-header").screenshot(path=shots / "header-signed-in.png")
        logout.hover()
        assert logout.evaluate(LOOK)[0] == "underline"  # on hover, as the links are


def test_a_blank_comment_and_the_tags_field_in_the_browser(
    site_engine: tuple[str, Engine],
    site: str,
    shots: Path,
) -> None:
    engine = site_engine[1]
    _reader(engine)
    paper_id = _first_paper(engine)
    with chromium_page() as (page, _):
        _log_in(page, site, f"/papers/{paper_id}")
        page.fill("#comment-body", "   ")  # passes `required`; the server refuses it
        page.click("form.comment-form button[type=submit]")
        page.wait_for_selector("#comment-error")
        assert "empty" in page.locator("#comment-error").inner_text()
        assert page.locator("h1").count() == 1  # the paper page, not an error page
        page.screenshot(path=shots / "comment-refused.png")
        page.goto(f"{site}/papers/{paper_id}")
        page.click(".save-form button")
        page.goto(f"{site}/library")
        page.fill(".library-tools input[name=tags]", "meshes, flow matching")
        page.click(".library-tools button.cm-button")
        page.wait_for_selector(".library .meta a.category")
        tags = page.locator(".library .meta a.category").all_inner_texts()
        assert tags == ["flow-matching", "meshes"]
        page.screenshot(path=shots / "library-tags.png")
