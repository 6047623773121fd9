"""Accessibility of every kind of page, in light and dark: axe-core (WCAG 2 A and AA rules,
contrast included) in headless Chromium, and the keyboard path from the skip link.

axe-core (MPL-2.0) is vendored in tests/data/axe; it is injected with the page's CSP bypassed
(the site itself never allows inline scripts). Swagger UI's /docs is its own markup, not ours.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine

from paperfeed import config
from paperfeed.ingest.formats import ParseOptions
from paperfeed.ingest.service import run_ingest
from paperfeed.ingest.sources import file_source
from paperfeed.store import migrate
from paperfeed.store.engine import make_engine
from tests.conftest import SEED_PAGE, TEST_DATA
from tests.factories import add_user
from tests.live_server import serve_app
from tests.web.chromium import chromium_page, needs_chromium

pytestmark = needs_chromium
AXE = (TEST_DATA / "axe" / "axe.min.js").read_text()
PASSWORD = "accessible reading 2026"
PAGES = [
    "/",
    "/trending",
    "/search?q=attention",
    "/search",
    "/week/2026-W11",
    "/month/2026-03",
    "/login",
    "/register",
    "/reset",
    "/no-such-page",
]
SIGNED_IN_PAGES = ["/submit", "/for-you", "/library", "/account", "/admin"]


@pytest.fixture
def site(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    monkeypatch.setenv("PAPERFEED_DATABASE_URL", f"sqlite:///{tmp_path / 'a11y.db'}")
    config.get_settings.cache_clear()
    engine = make_engine(config.get_settings().resolved_database_url())
    migrate.upgrade(engine)
    run_ingest(engine, file_source(str(SEED_PAGE), None, ParseOptions()))
    _admin(engine)
    engine.dispose()
    with serve_app() as url:
        yield url


def _admin(engine: Engine) -> None:
    add_user(engine, "reader", admin=True, password=PASSWORD)


def _violations(page: object, url: str) -> list[str]:
    page.goto(url)  # type: ignore[attr-defined]
    page.add_script_tag(content=AXE)  # type: ignore[attr-defined]
    found = page.evaluate(  # type: ignore[attr-defined]
        "async () => (await axe.run(document, {runOnly: ['wcag2a', 'wcag2aa']})).violations"
        ".map(v => `${v.id}: ${v.nodes.map(n => n.target.join(' ')).slice(0, 3).join(', ')}`)"
    )
    return [f"{url} {item}" for item in found]


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_every_page_passes_axe(site: str, scheme: str) -> None:
    problems: list[str] = []
    # Playwright's default window; axe runs its own script, which the site's CSP would block.
    with chromium_page(1280, 720, bypass_csp=True, color_scheme=scheme) as (page, _):
        paper = None
        for path in PAGES:
            problems += _violations(page, site + path)
            paper = paper or page.locator("a[href^='/papers/']").first.get_attribute("href")
        assert paper, "the pages link papers"
        problems += _violations(page, site + paper)
        page.goto(site + "/login")
        page.fill("#login-name", "reader")
        page.fill("#login-password", PASSWORD)
        page.click("form.auth-form button[type=submit]")
        for path in [*SIGNED_IN_PAGES, paper]:
            problems += _violations(page, site + path)
    assert problems == []


def test_the_keyboard_reaches_the_content_first(site: str) -> None:
    with chromium_page(1280, 720) as (page, _):
        page.goto(site + "/")
        page.keyboard.press("Tab")
        focused = page.locator(":focus")
        assert focused.inner_text() == "Skip to content" and focused.is_visible()
        page.keyboard.press("Enter")
        assert page.url.endswith("#main")
        page.keyboard.press("Tab")  # the next stop is inside the main content, not the header
        inside = page.evaluate("document.activeElement.closest('main') !== null")
        assert inside
