"""Real Chromium against a real server: a paper-page visit counts one view per browser and day,
and the list pages render with the site's stylesheet and no console errors (CSP included)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from playwright import sync_api
from sqlalchemy import Engine, select

from paperfeed import config
from paperfeed.store.community_schema import paper_stats
from tests.factories import add_papers
from tests.web.chromium import ARGS, CHROMIUM, needs_chromium
from tests.web.test_hf_api import site  # noqa: F401  (the uvicorn fixture)
from tests.web.test_pages import real

pytestmark = needs_chromium


@pytest.fixture
def flush_each_view(monkeypatch: pytest.MonkeyPatch) -> None:
    """Views are written one by one (not in batches), so the test can read them at once."""
    monkeypatch.setenv("PAPERFEED_VIEW_FLUSH_BATCH", "1")
    config.get_settings.cache_clear()


def test_views_and_pages_in_chromium(
    flush_each_view: None,
    engine: Engine,
    site: str,  # noqa: F811
) -> None:
    today = datetime.now(UTC).date()
    record = real(0, featured_day=today, upvotes=3)
    pk = add_papers(engine, record)[str(record.id)]
    with sync_api.sync_playwright() as playwright:
        # Two browser contexts (two visitors), so not chromium_page's one page.
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        errors: list[str] = []
        for visit in range(2):
            # A person is a keyed hash of address and browser: another browser is another one.
            context = browser.new_context(user_agent=f"Mozilla/5.0 paperfeed-test-{visit}")
            page = context.new_page()
            page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
            for _ in range(2):  # a reload in the same browser counts no second view
                page.goto(f"{site}/papers/{record.id}")
            assert page.locator("h1").inner_text() == record.title
            with engine.connect() as conn:
                views = conn.execute(
                    select(paper_stats.c.views).where(paper_stats.c.paper_pk == pk)
                ).scalar()
            assert views == visit + 1
            context.close()
        page = browser.new_page()
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        for path in ("/", f"/date/{today.isoformat()}", "/trending"):
            page.goto(site + path)
            # The stylesheet applied: list items are laid out as a grid (vote column + body).
            item = page.locator(".paper-item").first
            assert item.evaluate("e => getComputedStyle(e).display") == "grid", path
        page.goto(f"{site}/papers/{record.id}")
        page.locator("summary", has_text="BibTeX").click()  # <details>: no JavaScript of ours
        assert "@misc{" in page.locator("pre.bibtex").inner_text()
        browser.close()
    assert errors == []
