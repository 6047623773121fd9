"""In real Chromium: "Log out" (a form's button) looks like the header's other links."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import Engine, select, update

from paperfeed.community.passwords import hash_password
from paperfeed.store.community_schema import users
from paperfeed.store.engine import write_transaction
from paperfeed.store.schema import papers

# The site and its seed papers, Chromium and the skip when either is missing: as test_browser.
from tests.web.test_browser import CHROMIUM, playwright, pytestmark, shots, site, site_engine
from tests.web.test_community_helpers import add_user

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
    pk = add_user(engine, "ada")
    with write_transaction(engine) as conn:
        conn.execute(
            update(users).where(users.c.pk == pk).values(password_hash=hash_password(PASSWORD))
        )


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


def test_log_out_looks_like_the_other_links_of_the_header(
    site_engine: tuple[str, Engine], site: str, shots: Path
) -> None:
    _reader(site_engine[1])
    with playwright.sync_playwright() as driver:
        browser = driver.chromium.launch(
            executable_path=CHROMIUM, args=["--headless", "--no-sandbox", "--disable-gpu"]
        )
        page = browser.new_page(viewport={"width": 1200, "height": 900})
        _log_in(page, site, "/trending")
        nav = page.locator("nav.site-nav")
        logout = nav.locator("button.link-button")
        assert logout.inner_text() == "Log out"
        assert logout.evaluate(LOOK) == nav.locator("a[href='/library']").evaluate(LOOK)
        assert logout.evaluate(LOOK)[0] == "none"  # not underlined, as the links are not
        page.locator("header.site-header").screenshot(path=shots / "header-signed-in.png")
        logout.hover()
        assert logout.evaluate(LOOK)[0] == "underline"  # on hover, as the links are
        browser.close()
