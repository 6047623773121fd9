"""The NEW badge since the last visit (static/visits.js) in real Chromium: the server renders
NEW on the newest day only; the browser's own record of its visits decides the rest."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

from playwright import sync_api
from sqlalchemy import Engine, update

from paperfeed.domain import PaperRecord
from paperfeed.store.engine import write_transaction
from paperfeed.store.schema import papers
from tests.factories import add_papers
from tests.web.chromium import ARGS, CHROMIUM, needs_chromium
from tests.web.test_hf_api import site  # noqa: F401  (the uvicorn fixture)

pytestmark = needs_chromium

HOUR = 3600


def _papers(engine: Engine) -> None:
    """Two papers of an older day: one first seen 3 hours ago, one 90 minutes ago."""
    day = datetime.now(UTC).date() - timedelta(days=3)
    pks = add_papers(
        engine,
        PaperRecord(id="2401.00001", title="Seen long ago", abstract="a", featured_day=day),
        PaperRecord(id="2401.00002", title="Came lately", abstract="b", featured_day=day),
        PaperRecord(
            id="2401.00003", title="Newest day", abstract="c", featured_day=day + timedelta(days=1)
        ),
    )
    now = datetime.now(UTC)
    with write_transaction(engine) as conn:
        for paper_id, age in (("2401.00001", 3 * HOUR), ("2401.00002", 90 * 60)):
            when = now - timedelta(seconds=age)
            conn.execute(
                update(papers).where(papers.c.pk == pks[paper_id]).values(first_seen_at=when)
            )


def _new_titles(page: sync_api.Page) -> list[str]:
    return page.locator(".paper-title:has(.badge-new) a").all_inner_texts()


def test_papers_since_the_last_visit_are_new(engine: Engine, site: str) -> None:  # noqa: F811
    _papers(engine)
    day = (datetime.now(UTC).date() - timedelta(days=3)).isoformat()
    now = int(time.time())
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        page = browser.new_page()
        # A first visit: the server's rule (the newest day only), so nothing on this day.
        page.goto(f"{site}/date/{day}")
        assert _new_titles(page) == []
        stored = page.evaluate("localStorage.getItem('pf_visit')")
        assert stored.startswith("0:")
        # Last here two hours ago, that visit over: what came since then is new.
        page.evaluate(f"localStorage.setItem('pf_visit', '0:{now - 2 * HOUR}')")
        page.goto(f"{site}/date/{day}")
        assert _new_titles(page) == ["Came lately"]
        # The next page of the same visit keeps the same threshold.
        assert page.evaluate("localStorage.getItem('pf_visit')").startswith(f"{now - 2 * HOUR}:")
        page.reload()
        assert _new_titles(page) == ["Came lately"]
        # A visit that ended an hour ago, after both came: nothing here is new any more.
        page.evaluate(f"localStorage.setItem('pf_visit', '{now - 2 * HOUR}:{now - HOUR - 100}')")
        page.goto(f"{site}/date/{day}")
        assert _new_titles(page) == []
        browser.close()
