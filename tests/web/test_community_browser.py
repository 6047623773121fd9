"""Real Chromium (Playwright) against a real server: register, submit by hand, upvote through
htmx (no page load), comment, save to the library. Uses the accounts' register page."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import Engine, func, select

from paperfeed.store.community_schema import comments, library_items, votes
from tests.live_server import serve_app
from tests.web.chromium import chromium_page, needs_chromium

pytestmark = needs_chromium


@pytest.fixture
def site(engine: Engine) -> Iterator[str]:
    with serve_app() as url:
        yield url


def _count(engine: Engine, table: object) -> int:
    with engine.connect() as conn:
        query = select(func.count()).select_from(table)  # type: ignore[arg-type]
        return int(conn.execute(query).scalar_one())


def test_submit_upvote_comment_and_save_in_chromium(engine: Engine, site: str) -> None:
    with chromium_page(1280, 720) as (page, errors):
        page.goto(f"{site}/register?next=/submit")
        page.fill("#register-username", "grace")
        page.fill("#register-email", "grace@example.org")
        page.fill("#register-password", "correct horse battery staple")
        page.click("form.auth-form button[type=submit]")
        page.goto(f"{site}/submit")
        page.fill("#submit-title", "Compilers for Everyone")
        page.fill("#submit-authors", "Grace Hopper")
        page.fill("#submit-abstract", "A paper typed in by hand.")
        page.click("section:has(#submit-manual-heading) button[type=submit]")
        page.wait_for_url(f"{site}/papers/pf-*")
        assert page.locator("h1").inner_text() == "Compilers for Everyone"
        assert "Submitted by grace" in page.locator(".submitted-by").inner_text()

        # htmx swaps the button in place: the page does not reload.
        url = page.url
        page.evaluate("window.__marker = 1")
        button = page.locator(".community .vote-button")
        assert button.get_attribute("aria-pressed") == "false"
        button.click()
        page.wait_for_selector(".community .vote-button[aria-pressed=true]")
        assert page.evaluate("window.__marker") == 1 and page.url == url
        assert page.locator(".community .vote-count").inner_text() == "1"

        page.fill("#comment-body", "Great **read**")
        page.click("form.comment-form button[type=submit]")
        page.wait_for_selector(".comment-body strong")
        assert page.locator(".comment-body strong").inner_text() == "read"

        page.click(".save-form button")
        page.wait_for_selector(".save-form button[aria-pressed=true]")
        page.goto(f"{site}/library")
        assert page.locator(".library .paper-title").inner_text() == "Compilers for Everyone"
        assert not [e for e in errors if "Content Security Policy" in e], errors
    assert (_count(engine, votes), _count(engine, comments), _count(engine, library_items)) == (
        1,
        1,
        1,
    )
