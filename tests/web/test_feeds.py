"""RSS 2.0 and Atom feeds, parsed by feedparser (what feed readers use), on both backends."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import feedparser
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, update

from paperfeed.domain import PaperRecord
from paperfeed.rank.trending import recompute_trending, record_activity
from paperfeed.store.engine import write_transaction
from paperfeed.store.schema import papers
from paperfeed.web.app import create_app
from tests.factories import add_papers
from tests.web.test_home import HOSTILE
from tests.web.test_pages import real

BASE = "https://papers.example.org"
TODAY = datetime.now(UTC).date()


@pytest.fixture
def client(engine: Engine, monkeypatch: pytest.MonkeyPatch) -> Iterator[TestClient]:
    monkeypatch.setenv("PAPERFEED_BASE_URL", BASE)
    from paperfeed import config

    config.get_settings.cache_clear()
    with TestClient(create_app()) as client:
        yield client


@pytest.fixture
def corpus(engine: Engine) -> dict[str, int]:
    pks = add_papers(
        engine,
        real(0, featured_day=TODAY, upvotes=1),
        real(1, featured_day=TODAY, upvotes=9),
        real(2, featured_day=TODAY - timedelta(days=1)),
        real(3, featured_day=TODAY - timedelta(days=30)),  # older than the daily feed's week
        real(4, featured_day=TODAY, title="Hidden from feeds"),
        PaperRecord(
            id="2401.06666",
            title=HOSTILE + " & <b>bold</b>",
            abstract="]]> <!-- --> \x0b\x1f a form feed \x0c",
            authors=["A <B>"],
            featured_day=TODAY - timedelta(days=2),
        ),
    )
    with write_transaction(engine) as conn:
        conn.execute(
            update(papers)
            .where(papers.c.title == "Hidden from feeds")
            .values(hidden_at=datetime.now(UTC))
        )
        record_activity(conn, pks[str(real(2).id)], "upvote", 3)
        record_activity(conn, pks[str(real(0).id)], "comment")
    recompute_trending(engine)  # scores the imported upvotes (run_ingest does this itself)
    return pks


def parse(client: TestClient, path: str, media: str) -> Any:
    response = client.get(path)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == f"{media}; charset=utf-8"
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["cache-control"] == "public, max-age=300"
    feed = feedparser.parse(response.content)
    assert feed.bozo == 0, feed.get("bozo_exception")
    for entry in feed.entries:
        assert entry.title and entry.id
        assert entry.link.startswith(f"{BASE}/papers/")
        assert entry.get("updated_parsed") or entry.get("published_parsed")
    return feed


FORMATS = [("atom", "application/atom+xml", "atom10"), ("rss", "application/rss+xml", "rss20")]


@pytest.mark.parametrize(("ext", "media", "version"), FORMATS)
def test_daily_feed(
    client: TestClient, corpus: dict[str, int], ext: str, media: str, version: str
) -> None:
    feed = parse(client, f"/feeds/daily.{ext}", media)
    assert feed.version == version
    titles = [entry.title for entry in feed.entries]
    # Newest day first; within a day, most upvoted first. Hidden and old papers are not in it.
    assert titles[:2] == [real(1).title, real(0).title]
    assert titles[2] == real(2).title
    assert "Hidden from feeds" not in titles and real(3).title not in titles
    assert HOSTILE + " & <b>bold</b>" in titles  # escaped in the XML, intact for the reader
    first = feed.entries[0]
    assert first.link == f"{BASE}/papers/{real(1).id}" and first.id == first.link
    assert real(1).abstract[:60] in first.summary
    assert feed.feed.link == f"{BASE}/"
    if ext == "atom":
        assert first.updated_parsed[:3] == TODAY.timetuple()[:3]
        assert [a.name for a in first.authors][:2] == real(1).authors[:2]
    else:
        assert first.published_parsed[:3] == TODAY.timetuple()[:3]


@pytest.mark.parametrize(("ext", "media", "version"), FORMATS)
def test_trending_feed_carries_why(
    client: TestClient, corpus: dict[str, int], ext: str, media: str, version: str
) -> None:
    feed = parse(client, f"/feeds/trending.{ext}", media)
    assert feed.version == version
    ids = [entry.link.rsplit("/", 1)[1] for entry in feed.entries]
    assert ids[0] == real(1).id  # 9 imported upvotes (x 0.5) beat 3 own, both today
    assert set(ids) >= {real(0).id, real(1).id, real(2).id}
    assert "Why it is trending" in feed.entries[0].summary


@pytest.mark.parametrize(("ext", "media", "version"), FORMATS)
def test_search_feed(
    client: TestClient, corpus: dict[str, int], ext: str, media: str, version: str
) -> None:
    words = " ".join(real(1).title.split()[:4])
    feed = parse(client, f"/feeds/search.{ext}?q={words}", media)
    assert feed.version == version
    assert feed.entries and feed.entries[0].title == real(1).title
    assert words in feed.feed.title
    empty = parse(client, f"/feeds/search.{ext}?q=", media)
    assert empty.entries == []


def test_feeds_are_linked_from_the_pages(client: TestClient, corpus: dict[str, int]) -> None:
    home = client.get("/").text
    assert '<link rel="alternate" type="application/atom+xml" href="/feeds/daily.atom"' in home
    assert '<link rel="alternate" type="application/rss+xml" href="/feeds/daily.rss"' in home
    trending = client.get("/trending").text
    assert 'type="application/atom+xml" href="/feeds/trending.atom"' in trending


def test_unknown_feed_format_is_a_clear_404(client: TestClient) -> None:
    response = client.get("/feeds/daily.json")
    assert response.status_code == 404 and ".rss or .atom" in response.text
    assert client.get("/feeds/nothing.atom").status_code == 404


def test_empty_site_feeds_are_valid(client: TestClient) -> None:
    for ext, media, _ in FORMATS:
        assert parse(client, f"/feeds/daily.{ext}", media).entries == []
        assert parse(client, f"/feeds/trending.{ext}", media).entries == []


def test_a_search_feed_with_control_characters_is_still_a_feed(
    client: TestClient, corpus: dict[str, int]
) -> None:
    feed = parse(client, "/feeds/search.atom?q=a%01b%1f", "application/atom+xml")
    assert feed.version == "atom10"
    # A NUL byte is refused before any route runs (request_guards.NulBytes): a 400, not a 500.
    assert client.get("/feeds/search.atom?q=a%00b").status_code == 400


def test_rss_descriptions_are_escaped_html_so_readers_show_the_text(
    client: TestClient, engine: Engine
) -> None:
    abstract = "For all x<y<z the bound holds; see <sup>2</sup>.\n\n<img src=x onerror=alert(2)>"
    add_papers(
        engine,
        PaperRecord(
            id="2401.07777", title="Bounds", abstract=abstract, featured_day=TODAY, authors=["A"]
        ),
    )
    [entry] = parse(client, "/feeds/daily.rss", "application/rss+xml").entries
    # Readers take an RSS description as HTML: the abstract must arrive as its text.
    assert "x&lt;y&lt;z the bound holds; see &lt;sup&gt;2&lt;/sup&gt;." in entry.summary
    assert "<img" not in entry.summary and "<sup>" not in entry.summary
