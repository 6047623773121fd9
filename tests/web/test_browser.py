"""The site in a real browser: headless Chromium (Debian's) driven by Playwright.

One visitor's journey: register → log out → log in → submit a paper → upvote it (htmx) →
comment → search (and search as you type) → subscribe from the box; plus trending, for-you
and the API docs. Each page is screenshotted (into ``SCREENSHOTS_DIR`` when set, e.g.
``docs/screenshots``). The browser's console must show no error (a CSP violation is one).
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright import sync_api as playwright
from sqlalchemy import Engine

from paperfeed import config
from paperfeed.ingest.formats import ParseOptions
from paperfeed.ingest.service import run_ingest
from paperfeed.ingest.sources import file_source
from paperfeed.rank import for_you
from paperfeed.store import migrate
from paperfeed.store.engine import make_engine
from tests.conftest import SEED_PAGE
from tests.live_server import free_port, serve_app
from tests.rank.for_you_data import load_sample, tagged_reader
from tests.web.chromium import chromium_page, needs_chromium

pytestmark = needs_chromium


@pytest.fixture
def site_engine(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[str, Engine]]:
    """A migrated SQLite store and the address a server for it will have."""
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    monkeypatch.setenv("PAPERFEED_DATABASE_URL", f"sqlite:///{tmp_path / 'site.db'}")
    monkeypatch.setenv("PAPERFEED_BASE_URL", base)
    config.get_settings.cache_clear()
    engine = make_engine(config.get_settings().resolved_database_url())
    migrate.upgrade(engine)
    yield base, engine
    engine.dispose()


def _start(base: str) -> Iterator[str]:
    with serve_app(int(base.rsplit(":", 1)[1])) as url:
        yield url


@pytest.fixture
def site(site_engine: tuple[str, Engine]) -> Iterator[str]:
    base, engine = site_engine
    run_ingest(engine, file_source(str(SEED_PAGE), None, ParseOptions()))
    yield from _start(base)


@pytest.fixture
def shots(tmp_path: Path) -> Path:
    folder = Path(os.environ.get("SCREENSHOTS_DIR") or tmp_path / "shots")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def test_a_visitor_registers_submits_upvotes_comments_searches_and_subscribes(
    site: str, shots: Path
) -> None:
    with chromium_page() as (page, errors):
        page.goto(site + "/")
        page.screenshot(path=shots / "home.png")

        page.click("text=Register")
        page.fill("#register-username", "ada")
        page.fill("#register-email", "ada@example.org")
        page.fill("#register-password", "analytical engine 1843")
        page.screenshot(path=shots / "register.png")
        page.click("form.auth-form button[type=submit]")
        nav = page.locator("nav.site-nav")
        assert "ada" in nav.inner_text(), "registered and signed in"

        page.click("nav.site-nav >> text=Log out")
        assert "Log in" in page.locator("nav.site-nav").inner_text()
        page.click("nav.site-nav >> text=Log in")
        page.fill("#login-name", "ada")
        page.fill("#login-password", "analytical engine 1843")
        page.screenshot(path=shots / "login.png")
        page.click("form.auth-form button[type=submit]")
        assert "ada" in page.locator("nav.site-nav").inner_text()

        page.goto(site + "/submit")
        page.fill("#submit-title", "Notes on the Analytical Engine")
        page.fill("#submit-authors", "Ada Lovelace, Charles Babbage")
        page.fill(
            "#submit-abstract",
            "The engine weaves algebraic patterns as the Jacquard loom weaves flowers.",
        )
        page.screenshot(path=shots / "submit.png")
        page.click("form:has(#submit-title) button[type=submit]")
        page.wait_for_url(re.compile(r"/papers/"))
        assert page.locator("h1").inner_text().startswith("Notes on the Analytical Engine")

        vote = page.locator("form.vote-form").first
        assert vote.locator(".vote-count").inner_text() == "0"
        vote.locator("button").click()
        # The page's CSP forbids eval, so Playwright's string predicates are out: locators.
        playwright.expect(page.locator("form.vote-form .vote-count").first).to_have_text("1")
        assert page.locator("form.vote-form button").first.get_attribute("aria-pressed") == "true"

        page.fill("#comment-body", "A *first* comment, with [a link](https://example.org).")
        page.click("form.comment-form button[type=submit]")
        comment = page.locator(".comment", has_text="A first comment")
        assert comment.count() == 1 and comment.locator("em").inner_text() == "first"
        page.screenshot(path=shots / "paper.png", full_page=True)

        page.fill("#site-search-q", "Dense Object Grounding")
        page.press("#site-search-q", "Enter")
        page.wait_for_url(re.compile(r"/search\?q="))
        assert "Dense Object Grounding in 3D Scenes" in page.locator("main").inner_text()
        page.screenshot(path=shots / "search.png")

        # Search as you type: results change under the box, no submit, no full reload.
        page.goto(site + "/search")
        page.locator("#search-q").press_sequentially("landmark attention", delay=20)
        expect = playwright.expect
        expect(page.locator("#results .paper-title").first).to_contain_text(
            re.compile("landmark", re.I)
        )
        assert "q=landmark" in page.url, "the address follows the query (hx-push-url)"
        page.click("details.search-filters summary")
        page.select_option("select[name=sort]", "date")
        page.wait_for_url(re.compile(r"sort=date"))
        page.screenshot(path=shots / "search-filters.png")

        page.goto(site + "/trending")
        page.screenshot(path=shots / "trending.png")
        page.goto(site + "/for-you")
        page.screenshot(path=shots / "for-you.png")

        page.fill("#subscribe-email", "ada@example.org")
        page.click("aside.subscribe-box button[type=submit]")
        assert re.search(r"confirm|check your (e-?mail|inbox)", page.content(), re.I)
        page.screenshot(path=shots / "subscribe.png")

        page.goto(site + "/docs")
        page.wait_for_selector(".opblock")
        page.screenshot(path=shots / "api-docs.png")

        browser = page.context.browser
        assert browser is not None
        dark = browser.new_page(viewport={"width": 1200, "height": 900}, color_scheme="dark")
        dark.goto(site + "/")
        dark.screenshot(path=shots / "home-dark.png")
    assert errors == []


def test_for_you_in_the_browser_explains_and_learns(
    site_engine: tuple[str, Engine], tmp_path: Path, shots: Path
) -> None:
    base, engine = site_engine
    load_sample(engine, tmp_path, 1500)
    for_you._models.clear()
    tagged_reader(engine, password="tagged reader 2026")
    for _ in _start(base):
        with chromium_page(height=1000) as (page, errors):
            page.goto(base + "/for-you")  # signed out: the login form, then back here
            page.fill("#login-name", "reader")
            page.fill("#login-password", "tagged reader 2026")
            page.click("form.auth-form button[type=submit]")
            page.wait_for_url(lambda url: url.endswith("/for-you"))
            first = page.locator("article.recommendation").first
            playwright.expect(first.locator(".why")).to_contain_text("in tag")
            page.screenshot(path=shots / "for-you.png")
            first.locator("button.feedback-button").first.click()  # 👍, through htmx
            playwright.expect(first.locator(".feedback-done")).to_contain_text("more like this")
            page.click("nav.tag-tabs >> text=speech")
            page.wait_for_url(lambda url: "tag=speech" in url)
            assert page.locator("article.recommendation").count() >= 10
        assert errors == []
