"""The home page through FastAPI's TestClient, on both backends."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import date
from html.parser import HTMLParser

import pytest
from fastapi.testclient import TestClient
from httpx import Response
from sqlalchemy import Engine, func, select

from paperfeed.domain import PaperRecord
from paperfeed.ingest.sample import sample_sources
from paperfeed.ingest.service import run_ingest
from paperfeed.store import migrate
from paperfeed.store.engine import make_engine
from paperfeed.store.schema import papers
from paperfeed.web.app import create_app
from paperfeed.web.feed_pages import HOME_CARDS
from paperfeed.web.queries import latest_day, on_day
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
    """Every script is one of the site's files (htmx, math.js, visits.js), or a JSON-LD data
    block (never run): none may come from the data."""
    return (
        all(
            src.startswith("/static/") or (not src and kind == "application/ld+json")
            for src, kind in page.scripts
        )
        and sum(1 for src, _ in page.scripts if src) == 3
    )


def scan(html: str) -> PageScan:
    parser = PageScan()
    parser.feed(html)
    return parser


@pytest.fixture
def client(engine: Engine) -> Iterator[TestClient]:
    with TestClient(create_app()) as client:
        yield client


def test_home_shows_the_newest_day_of_the_sample_with_its_count(
    engine: Engine, client: TestClient
) -> None:
    for source in sample_sources():
        run_ingest(engine, source)
    response = client.get("/")
    assert response.status_code == 200
    page = scan(response.text)
    newest = latest_day(engine)
    assert newest is not None
    assert f'<time datetime="{newest.isoformat()}">' in response.text
    with engine.connect() as conn:
        total = conn.execute(
            select(func.count()).where(papers.c.hidden_at.is_(None), on_day(newest))
        ).scalar_one()
    cards = response.text.count('<li class="paper">')
    assert cards == min(total, HOME_CARDS)
    assert f"{total:,} new papers, {cards} shown" in response.text
    assert any(href.startswith("https://arxiv.org/abs/") for href in page.hrefs)
    # The rest of the day and the day before are one click away.
    assert f'href="/date/{newest.isoformat()}?page=2"' in response.text
    assert 'rel="prev"' in response.text


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
    assert (  # each name a link to its author page
        '<a class="author" href="/authors/Ada%20Lovelace">Ada Lovelace</a>, '
        '<a class="author" href="/authors/Alan%20Turing">Alan Turing</a>'
    ) in html
    assert "cs.CL" in html and "cs.LG" in html
    assert "Long words Long words" in html and "…" in html  # a teaser, not the whole abstract
    assert '<time datetime="2026-05-04">' in html
    assert "1 new paper, 1 shown" in html
    # An earlier day is not on the home page: it is one click back.
    assert "A paper without an arXiv id" not in html
    assert '<a href="/date/2026-05-03" rel="prev">' in html


def _day_of(engine: Engine, count: int, day: date = date(2026, 5, 4)) -> None:
    """``count`` papers on ``day``: every third in cs.CL, the rest in cs.CV, some upvoted."""
    records = [
        PaperRecord(
            id=f"2605.{n:05d}",
            title=f"Paper number {n}",
            abstract="An abstract.",
            categories=["cs.CL", "cs.AI"] if n % 3 == 0 else ["cs.CV"],
            featured_day=day,
            upvotes=n % 7 if n % 5 == 0 else None,
        )
        for n in range(count)
    ]
    add_papers(engine, *records)


def _titles(html: str) -> list[str]:
    return re.findall(r'<a href="/papers/[^"]+">(Paper number \d+)</a>', html)


def test_a_big_day_shows_its_best_papers_first_and_the_rest_a_click_away(
    engine: Engine, client: TestClient
) -> None:
    _day_of(engine, 130)
    html = client.get("/").text
    shown = _titles(html)
    assert len(shown) == HOME_CARDS
    assert "130 new papers, 50 shown" in html
    votes = {f"Paper number {n}": (n % 7 if n % 5 == 0 else 0) for n in range(130)}
    # Most upvoted first; ties in the listing's order (the order they were stored).
    expected = sorted(votes, key=lambda title: (-votes[title], int(title.split()[-1])))
    assert shown == expected[:HOME_CARDS]
    assert 'href="/date/2026-05-04?page=2">The other 80 papers of the day' in html
    rest = client.get("/date/2026-05-04?page=2").text
    assert _titles(rest) == expected[50:100]


def test_category_chips_narrow_the_day(engine: Engine, client: TestClient) -> None:
    _day_of(engine, 90)
    html = client.get("/").text
    assert '<a href="/?cat=cs.CV">cs.CV <span class="chip-count">60</span></a>' in html
    assert '<a href="/?cat=cs.CL">cs.CL <span class="chip-count">30</span></a>' in html
    narrowed = client.get("/?cat=cs.CL").text
    shown = _titles(narrowed)
    assert len(shown) == 30 and all(int(t.split()[-1]) % 3 == 0 for t in shown)
    assert "30 new papers in cs.CL, 30 shown" in narrowed
    assert '<a href="/?cat=cs.CL" aria-current="page">' in narrowed
    day = client.get("/date/2026-05-04?cat=cs.CV").text
    assert "60 papers in cs.CV" in day and len(_titles(day)) == 50
    assert 'href="/date/2026-05-04?cat=cs.CV&amp;page=2"' in day
    assert len(_titles(client.get("/date/2026-05-04?cat=cs.CV&page=2").text)) == 10
    assert "No papers in math.AG" in client.get("/?cat=math.AG").text
    assert client.get("/?cat=<b>").status_code == 422


def test_the_header_leads_to_the_newest_week_and_month(engine: Engine, client: TestClient) -> None:
    _day_of(engine, 3)
    html = client.get("/").text
    assert '<a href="/week">Week</a>' in html and '<a href="/month">Month</a>' in html
    week = client.get("/week", follow_redirects=False)
    assert week.status_code == 302 and week.headers["location"] == "/week/2026-W19"
    month = client.get("/month", follow_redirects=False)
    assert month.headers["location"] == "/month/2026-05"
    assert "Paper number 2" in client.get("/week").text


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
    # The scripts are the site's own htmx, math.js and visits.js (in <head>); none from the data.
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
