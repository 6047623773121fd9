"""An author page in Chromium: axe finds no WCAG 2 A/AA problem, the co-author links lead to
their own pages, and the feed link is there."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest

from paperfeed import config
from paperfeed.store import migrate
from paperfeed.store.engine import make_engine
from tests.factories import add_papers
from tests.live_server import serve_app
from tests.web.chromium import chromium_page, needs_chromium
from tests.web.test_accessibility import _violations
from tests.web.test_author_pages import paper

pytestmark = needs_chromium


@pytest.fixture
def site(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    monkeypatch.setenv("PAPERFEED_DATABASE_URL", f"sqlite:///{tmp_path / 'authors.db'}")
    config.get_settings.cache_clear()
    engine = make_engine(config.get_settings().resolved_database_url())
    migrate.upgrade(engine)
    add_papers(
        engine,
        paper(1, ["Yang Li", "Ada Lovelace"], date(2026, 5, 1)),
        paper(2, ["Ada Lovelace", "Yáng Li"], date(2026, 5, 3)),
        paper(3, ["Yu Li"], date(2026, 5, 2)),
    )
    engine.dispose()
    with serve_app() as url:
        yield url


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_author_page_passes_axe(site: str, scheme: str) -> None:
    with chromium_page(1280, 720, bypass_csp=True, color_scheme=scheme) as (page, _):
        assert _violations(page, site + "/authors/Y.%20Li") == []
        assert _violations(page, site + "/authors/Yang%20Li") == []


def test_names_lead_from_page_to_page(site: str) -> None:
    with chromium_page(1280, 720) as (page, _):
        page.goto(site + "/date/2026-05-01")
        page.click("a.author >> text=Yang Li")
        assert page.locator("h1").inner_text() == "Yang Li"
        assert "2 papers, newest first" in page.locator(".count-line").inner_text()
        assert page.locator("link[type='application/atom+xml']").count() == 1
        page.click(".co-authors a >> text=Ada Lovelace")
        assert page.url.endswith("/authors/Ada%20Lovelace")
        assert "2 papers" in page.locator(".count-line").inner_text()
