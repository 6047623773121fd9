"""Author pages, the author feed and ``/api/authors/{name}/papers``, on both backends: one
name normalisation (the same as search's ``author:``), newest first, co-authors, hidden papers
left out, hostile names refused cleanly."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, date, datetime

import feedparser
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select, update

from paperfeed import config
from paperfeed.domain import PaperRecord
from paperfeed.search.service import search
from paperfeed.store.author_keys import author_match
from paperfeed.store.engine import write_transaction
from paperfeed.store.schema import papers
from paperfeed.web import author_pages, queries
from paperfeed.web.app import create_app
from tests.factories import add_papers

BASE = "https://papers.example.org"


def paper(n: int, authors: list[str], day: date, **fields: object) -> PaperRecord:
    return PaperRecord(
        id=f"2401.{n:05d}",
        title=str(fields.get("title", f"Paper number {n}")),
        abstract=f"The abstract of paper {n}.",
        authors=authors,
        featured_day=day,
    )


@pytest.fixture
def client(engine: Engine, monkeypatch: pytest.MonkeyPatch) -> Iterator[TestClient]:
    monkeypatch.setenv("PAPERFEED_BASE_URL", BASE)
    config.get_settings.cache_clear()
    with TestClient(create_app()) as client:
        yield client


@pytest.fixture
def corpus(engine: Engine) -> dict[str, int]:
    pks = add_papers(
        engine,
        paper(1, ["Yang Li", "Ada Lovelace", "Alan Turing"], date(2026, 5, 1)),
        paper(2, ["Ada Lovelace", "YANG  LI"], date(2026, 5, 3)),
        paper(3, ["Yáng Li", "Alan Turing", "Ada Lovelace"], date(2026, 5, 2)),
        paper(4, ["Yu Li", "Grace Hopper"], date(2026, 5, 4)),
        paper(5, ["Wei Liu", "Yang Li"], date(2026, 4, 1)),
        paper(6, ["Yang Li", "Hidden Coauthor"], date(2026, 5, 5), title="A hidden paper"),
        paper(7, ["A <B>", "Ada Lovelace"], date(2026, 5, 6)),
    )
    with write_transaction(engine) as conn:
        hide = update(papers).where(papers.c.title == "A hidden paper")
        conn.execute(hide.values(hidden_at=datetime.now(UTC)))
    return pks


def listed_ids(html: str) -> list[str]:
    """The paper ids of a page's list, in order."""
    return re.findall(r'class="paper-title"[^>]*><a href="/papers/([^"]+)"', html)


YANG_LI = ["2401.00002", "2401.00003", "2401.00001", "2401.00005"]  # newest first


@pytest.mark.parametrize("name", ["Yang%20Li", "yang%20li", "Y%C3%A1ng%20Li", "YANG%20%20LI"])
def test_one_normalisation_for_every_spelling(
    client: TestClient, engine: Engine, corpus: dict[str, int], name: str
) -> None:
    response = client.get(f"/authors/{name}")
    assert response.status_code == 200
    assert listed_ids(response.text) == YANG_LI
    assert "4 papers, newest first" in response.text
    assert "A hidden paper" not in response.text
    found = search(engine, 'author:"Yang Li"', 50, 0, "date")
    assert sorted(r.id for r in found.results) == sorted(YANG_LI)
    assert found.total == 4


def test_co_authors_with_shared_counts(client: TestClient, corpus: dict[str, int]) -> None:
    html = client.get("/authors/Yang%20Li").text
    section = html.split('class="co-authors"')[1].split("</section>")[0]
    pairs = re.findall(r'<a href="(/authors/[^"]+)">([^<]+)</a> <span class="count">(\d+)', section)
    assert pairs == [
        ("/authors/Ada%20Lovelace", "Ada Lovelace", "3"),
        ("/authors/Alan%20Turing", "Alan Turing", "2"),
        ("/authors/Wei%20Liu", "Wei Liu", "1"),
    ]  # not the author's own spellings, nor the hidden paper's co-author


def test_an_initial_lists_every_matching_name(
    client: TestClient, corpus: dict[str, int], monkeypatch: pytest.MonkeyPatch
) -> None:
    html = client.get("/authors/Y.%20Li").text
    assert set(listed_ids(html)) == {*YANG_LI, "2401.00004"}
    assert "may stand for several authors" in html
    assert '<a href="/authors/Yu%20Li">Yu Li</a> 1' in html
    assert "other names" not in html
    monkeypatch.setattr(author_pages, "NAMES", 1)
    few = client.get("/authors/Y.%20Li?page=1").text  # another address: not the cached page
    assert "Yang Li</a> 2 and other names with fewer papers" in few
    surname = client.get("/authors/Li").text  # every Li, not Liu
    assert "2401.00004" in listed_ids(surname)
    assert "Wei Liu" not in surname.split('class="co-authors"')[0]


def test_pages_newest_first(
    client: TestClient, corpus: dict[str, int], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(author_pages, "PER_PAGE", 3)
    first = client.get("/authors/Yang%20Li")
    second = client.get("/authors/Yang%20Li?page=2")
    assert listed_ids(first.text) == YANG_LI[:3]
    assert listed_ids(second.text) == YANG_LI[3:]
    assert 'href="/authors/Yang%20Li?page=2"' in first.text
    assert client.get("/authors/Yang%20Li?page=3").status_code == 404


def test_unknown_and_hostile_names(client: TestClient, corpus: dict[str, int]) -> None:
    missing = client.get("/authors/Nobody%20Here")
    assert missing.status_code == 404
    assert "No papers by an author called “Nobody Here”" in missing.text
    only_hidden = client.get("/authors/Hidden%20Coauthor")
    assert only_hidden.status_code == 404
    for path, status in [
        ("/authors/" + "a" * 2000, 400),
        ("/authors/Yang%0ALi", 400),
        ("/authors/Yang%07Li", 400),
        ("/authors/Yang%00Li", 400),
        ("/authors/a%2Fb", 404),
        ("/authors/..%2F..%2Fetc", 404),
        ("/authors/%20%2E%2D", 404),
        ("/api/authors/" + "a" * 2000 + "/papers", 400),
        ("/api/authors/Nobody/papers", 404),
        ("/feeds/authors/Yang%01Li.atom", 400),
    ]:
        assert client.get(path).status_code == status, path


def test_names_are_escaped(client: TestClient, corpus: dict[str, int]) -> None:
    html = client.get("/authors/A%20%3CB%3E").text
    assert "<B>" not in html
    assert "A &lt;B&gt;" in html
    day = client.get("/date/2026-05-06").text
    assert '<a class="author" href="/authors/A%20%3CB%3E">A &lt;B&gt;</a>' in day


def test_every_author_name_is_a_link(client: TestClient, corpus: dict[str, int]) -> None:
    link = '<a class="author" href="/authors/Yang%20Li">Yang Li</a>'
    assert link in client.get("/date/2026-05-01").text
    assert link in client.get("/papers/2401.00001").text
    assert link in client.get("/search?q=author%3A%22Yang%20Li%22").text


def test_api_papers(client: TestClient, corpus: dict[str, int]) -> None:
    response = client.get("/api/authors/yang%20li/papers?limit=2&offset=1")
    assert response.status_code == 200
    assert response.headers["x-total-count"] == "4"
    body = response.json()
    assert [p["id"] for p in body] == YANG_LI[1:3]
    assert body[0]["authors"][0] == {"name": "Yáng Li", "hidden": False}
    assert body[0]["url"] == f"{BASE}/papers/{YANG_LI[1]}"
    assert client.get("/api/authors/Yang%20Li/papers?limit=0").status_code == 422


def test_atom_feed(client: TestClient, corpus: dict[str, int]) -> None:
    page = client.get("/authors/Yang%20Li").text
    assert 'href="/feeds/authors/Yang%20Li.atom"' in page
    response = client.get("/feeds/authors/Yang%20Li.atom")
    assert response.status_code == 200
    feed = feedparser.parse(response.content)
    assert not feed.bozo
    assert feed.feed.title == "paperfeed: papers by Yang Li"
    assert [e.link.rsplit("/", 1)[1] for e in feed.entries] == YANG_LI
    assert client.get("/feeds/authors/Nobody.atom").status_code == 404


def test_anonymous_author_pages_are_cached(client: TestClient, corpus: dict[str, int]) -> None:
    first = client.get("/authors/Yang%20Li")
    again = client.get("/authors/Yang%20Li")
    assert first.headers["x-page-cache"] == "miss"
    assert again.headers["x-page-cache"] == "hit"
    assert again.text == first.text


@pytest.mark.parametrize("name", ["Yang Li", "Y. Li", "Li"])
def test_author_lookups_use_the_name_key_index(
    engine: Engine, corpus: dict[str, int], name: str
) -> None:
    """The author's papers and co-authors are read through ``ix_paper_authors_name_key`` (an
    equality or one range), never by scanning every author row: what keeps a page fast at
    1M papers. PostgreSQL is told to avoid sequential scans, as it would at that size rather
    than on this tiny table."""
    match = author_match(name)
    assert match is not None
    query = (
        select(papers.c.pk)
        .where(queries.by_author(match))
        .order_by(*queries._BY_DAY)
        .select_from(queries._FROM)
        .limit(50)
    )
    with engine.begin() as conn:
        sql = str(query.compile(conn, compile_kwargs={"literal_binds": True}))
        if conn.dialect.name == "sqlite":
            rows = conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {sql}")
            plan = " ".join(str(row[-1]) for row in rows)
        else:
            conn.exec_driver_sql("SET LOCAL enable_seqscan = off")
            plan = " ".join(str(row[0]) for row in conn.exec_driver_sql(f"EXPLAIN {sql}"))
    assert "ix_paper_authors_name_key" in plan, plan
    assert "SCAN paper_authors" not in plan, plan
