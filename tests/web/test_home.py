"""The home page through FastAPI's TestClient, on both backends."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from html.parser import HTMLParser

import pytest
from fastapi.testclient import TestClient
from httpx import Response
from sqlalchemy import Engine

from paperfeed.domain import PaperRecord
from paperfeed.ingest.sample import sample_sources
from paperfeed.ingest.service import run_ingest
from paperfeed.store import migrate
from paperfeed.store.engine import make_engine
from paperfeed.web.app import create_app
from tests.factories import add_papers

SEED_TITLE = "Dense Object Grounding in 3D Scenes"
HOSTILE = "<script>alert(1)</script>"


def assert_security_headers(response: Response) -> None:
    """The headers every response must carry (RELIABILITY.md 14)."""
    csp = response.headers["content-security-policy"]
    for directive in ("object-src 'none'", "base-uri 'none'", "frame-ancestors 'none'"):
        assert directive in csp
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["referrer-policy"]
    assert "charset=utf-8" in response.headers["content-type"]


class PageScan(HTMLParser):
    """What a security review looks for: script elements, on* attributes, link targets."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[str] = []
        self.handlers: list[str] = []
        self.hrefs: list[str] = []
        self.headings: list[str] = []
        self.scripts: list[tuple[str, str]] = []  # (src, type) of each <script>
        self.days: list[date] = []  # the datetime of each day heading, in page order
        self._in_h2 = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        self.handlers += [name for name, _ in attrs if name.startswith("on")]
        if tag == "script":
            found = dict(attrs)
            self.scripts.append((found.get("src") or "", found.get("type") or ""))
        if tag in ("a", "img", "iframe", "form"):  # where data could become a link target
            self.hrefs += [v or "" for k, v in attrs if k in ("href", "src", "action")]
        self._in_h2 = self._in_h2 or tag == "h2"
        if self._in_h2 and tag == "time":
            self.days.append(date.fromisoformat(dict(attrs)["datetime"] or ""))

    def handle_endtag(self, tag: str) -> None:
        self._in_h2 = self._in_h2 and tag != "h2"

    def handle_data(self, data: str) -> None:
        if self._in_h2 and data.strip():
            self.headings.append(data.strip())


def only_site_scripts(page: PageScan) -> bool:
    """Every script is one of the site's files (htmx, math.js), or a JSON-LD data block (never
    run): none may come from the data."""
    return (
        all(
            src.startswith("/static/") or (not src and kind == "application/ld+json")
            for src, kind in page.scripts
        )
        and sum(1 for src, _ in page.scripts if src) == 2
    )


def scan(html: str) -> PageScan:
    parser = PageScan()
    parser.feed(html)
    return parser


@pytest.fixture
def client(engine: Engine) -> Iterator[TestClient]:
    with TestClient(create_app()) as client:
        yield client


def test_home_lists_sample_papers_under_day_headings(engine: Engine, client: TestClient) -> None:
    for source in sample_sources():
        run_ingest(engine, source)
    response = client.get("/")
    assert response.status_code == 200
    page = scan(response.text)
    assert SEED_TITLE in response.text
    assert "Friday, 14 March 2025" in page.headings
    assert len(page.days) >= 20, "the sample holds many days; the page shows them"
    assert page.days == sorted(page.days, reverse=True)
    assert any(href.startswith("https://arxiv.org/abs/") for href in page.hrefs)


def test_a_paper_shows_title_link_authors_teaser_day_and_categories(
    engine: Engine, client: TestClient
) -> None:
    add_papers(
        engine,
        PaperRecord(
            id="arXiv:2401.12345v2",
            title="Landmark Attention",
            abstract="Long words " * 100,
            authors=["Ada Lovelace", "Alan Turing"],
            categories=["cs.CL", "cs.LG"],
            featured_day=date(2026, 5, 4),
        ),
        PaperRecord(
            title="A paper without an arXiv id", abstract="Short.", published=date(2026, 5, 3)
        ),
    )
    html = client.get("/").text
    # The title opens the paper page; the arXiv page is one more link.
    assert '<a href="/papers/2401.12345">Landmark Attention</a>' in html
    assert 'href="https://arxiv.org/abs/2401.12345"' in html
    assert "Ada Lovelace, Alan Turing" in html
    assert "cs.CL" in html and "cs.LG" in html
    assert "Long words Long words" in html and "…" in html  # a teaser, not the whole abstract
    assert '<time datetime="2026-05-04">' in html
    assert "A paper without an arXiv id" in html
    assert scan(html).headings[:4] == [
        "Monday, 4 May 2026",
        "1 paper",
        "Sunday, 3 May 2026",
        "1 paper",
    ]


def test_hostile_fields_are_escaped(engine: Engine, client: TestClient) -> None:
    add_papers(
        engine,
        PaperRecord(
            title=HOSTILE,
            abstract='"><img src=x onerror=alert(2)> and <a href="javascript:alert(3)">x</a>',
            authors=['"><svg onload=alert(4)>'],
            categories=["<b>cs.XX</b>"],
            featured_day=date(2026, 1, 1),
        ),
    )
    response = client.get("/")
    page = scan(response.text)
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in response.text
    # The scripts are the site's own htmx and math.js (in <head>); none come from the data.
    assert only_site_scripts(page) and "img" not in page.tags and "svg" not in page.tags
    assert page.handlers == []
    assert all(href.startswith(("/", "#", "https://")) for href in page.hrefs)


@pytest.mark.parametrize("path", ["/", "/healthz", "/static/style.css", "/no-such-page"])
def test_every_response_sends_the_security_headers(client: TestClient, path: str) -> None:
    assert_security_headers(client.get(path))


def test_empty_feed_says_how_to_load_papers(client: TestClient) -> None:
    response = client.get("/")
    assert response.status_code == 200
    assert "No papers yet" in response.text
    assert "paperfeed ingest --sample" in response.text


def test_unmigrated_database_answers_with_a_clear_message(
    database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PAPERFEED_DATABASE_URL", database_url)
    with TestClient(create_app()) as client:
        page = client.get("/")
        assert page.status_code == 503
        assert "not set up" in page.text and "paperfeed db upgrade" in page.text
        assert database_url.split("?")[0] not in page.text  # where the data lives stays private
        health = client.get("/healthz")
        assert health.status_code == 503
        assert "paperfeed db upgrade" in health.json()["detail"]
        engine = make_engine(database_url)
        migrate.upgrade(engine)
        engine.dispose()
        # Once migrated the site works without a restart.
        assert client.get("/").status_code == 200
        assert client.get("/healthz").json() == {"status": "ok", "papers": 0}
