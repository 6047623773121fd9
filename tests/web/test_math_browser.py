"""LaTeX in titles, abstracts and comments, rendered by the site's own KaTeX in real Chromium
under the site's CSP (script-src 'self'); the JSON API and the feeds keep the source text."""

from __future__ import annotations

from datetime import UTC, datetime

import httpx
from playwright import sync_api
from sqlalchemy import Engine

from paperfeed.community.comments import add_comment
from paperfeed.domain import PaperRecord
from tests.factories import add_papers, add_user, load_user
from tests.web.chromium import ARGS, CHROMIUM, needs_chromium
from tests.web.test_hf_api import site  # noqa: F401  (the uvicorn fixture)

pytestmark = needs_chromium

TITLE = "A $q$-analogue of the Catalan numbers"
ABSTRACT = r"We show that $\sum_{n \ge 0} C_n(q) x^n$ converges and \(x^2\) is small."


def test_a_q_title_renders_as_katex(engine: Engine, site: str) -> None:  # noqa: F811
    today = datetime.now(UTC).date()
    record = PaperRecord(
        id="2401.12345", title=TITLE, abstract=ABSTRACT, authors=["A"], featured_day=today
    )
    pk = add_papers(engine, record)["2401.12345"]
    add_comment(engine, load_user(engine, add_user(engine)), pk, "And for $q = 1$?")
    plain = add_papers(engine, PaperRecord(id="2401.54321", title="Plain words", abstract="x"))
    assert plain
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        page = browser.new_page()
        errors: list[str] = []
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        loaded: list[str] = []
        page.on("request", lambda r: loaded.append(r.url))
        page.goto(f"{site}/papers/2401.12345")
        page.wait_for_selector("html[data-math=rendered]")
        title = page.locator("h1#paper-title")
        # The $q$ became KaTeX markup: an italic q in KaTeX's font, MathML beside it.
        assert title.locator(".katex").count() == 1
        assert title.locator(".katex-mathml annotation").text_content() == "q"
        assert "$" not in title.inner_text()
        font = title.locator(".katex .mathnormal").first.evaluate(
            "e => getComputedStyle(e).fontFamily"
        )
        assert "KaTeX_Math" in font
        assert page.locator(".abstract .katex").count() == 2
        assert page.locator(".comment-body .katex").count() == 1
        # The fonts came from this site (woff2) and the page loaded nothing from elsewhere.
        assert any(url.endswith(".woff2") for url in loaded)
        assert all(url.startswith(site) for url in loaded)
        # A page without math does not fetch KaTeX at all.
        loaded.clear()
        page.goto(f"{site}/papers/2401.54321")
        assert not any("katex" in url for url in loaded)
        browser.close()
    assert errors == []
    # Everything but the pages keeps the text as the source wrote it.
    api = httpx.get(f"{site}/api/papers/2401.12345").json()
    assert api["title"] == TITLE and api["summary"] == ABSTRACT
    assert httpx.get(f"{site}/papers/2401.12345.md").text.startswith(f"# {TITLE}\n")
    assert TITLE in httpx.get(f"{site}/feeds/daily.atom").text
