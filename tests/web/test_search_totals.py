"""What the search page, the search API and search feeds say about totals, filters and empty
results, checked against the data (SQL of the test's own), on both backends."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import parse_qs, urlsplit

import feedparser
from fastapi.testclient import TestClient
from sqlalchemy import Engine, text

from tests.web.test_search import client, corpus  # noqa: F401  (fixtures)

WORD = "language"


def holding(engine: Engine, word: str) -> int:
    with engine.connect() as conn:
        if conn.dialect.name == "sqlite":
            sql = "SELECT count(*) FROM papers_fts WHERE papers_fts MATCH :w"
        else:
            sql = (
                "SELECT count(*) FROM papers WHERE search_vector @@ plainto_tsquery('english', :w)"
            )
        return int(conn.execute(text(sql), {"w": word}).scalar_one())


def stated_total(html: str) -> int:
    found = re.search(r'<p class="result-count">([\d,]+) results?', html)
    assert found, html[:2000]
    return int(found.group(1).replace(",", ""))


def titles(html: str) -> list[str]:
    return re.findall(r'<h2 class="paper-title"><a href="/papers/([^"]+)"', html)


def test_the_page_states_the_true_total_and_every_page_is_reachable(
    client: TestClient,  # noqa: F811
    corpus: list[dict[str, Any]],  # noqa: F811
    engine: Engine,
) -> None:
    expected = holding(engine, WORD)
    assert expected > 40  # at least three pages
    first = client.get("/search", params={"q": WORD}).text
    assert stated_total(first) == expected
    pages = -(-expected // 20)
    assert f"page 1 of {pages}" in first
    assert f"/search?q={WORD}&amp;page={pages}" in first  # the last page is linked
    seen: list[str] = []
    for page in range(1, pages + 1):
        html = client.get("/search", params={"q": WORD, "page": page}).text
        assert stated_total(html) == expected
        seen += titles(html)
    assert len(seen) == len(set(seen)) == expected
    beyond = client.get("/search", params={"q": WORD, "page": pages + 1}).text
    assert "No more results" in beyond


def test_no_raw_score_on_the_page(
    client: TestClient,  # noqa: F811
    corpus: list[dict[str, Any]],  # noqa: F811
) -> None:
    html = client.get("/search", params={"q": WORD}).text
    assert titles(html) and not re.search(r"score \d", html)


def test_api_sends_the_total_and_pages(
    client: TestClient,  # noqa: F811
    corpus: list[dict[str, Any]],  # noqa: F811
    engine: Engine,
) -> None:
    response = client.get("/api/papers/search", params={"q": WORD, "limit": 100})
    assert response.status_code == 200
    assert int(response.headers["X-Total-Count"]) == holding(engine, WORD)
    body = response.json()
    assert isinstance(body, list) and {"paper", "title", "summary"} <= set(body[0])
    rest = client.get("/api/papers/search", params={"q": WORD, "limit": 100, "offset": 100})
    ids = [item["id"] for item in body + rest.json()]
    assert len(set(ids)) == len(ids) == min(200, holding(engine, WORD))
    empty = client.get("/api/papers/search", params={"q": "xyzzyqq"})
    assert empty.json() == [] and empty.headers["X-Total-Count"] == "0"


def test_an_empty_page_says_why(
    client: TestClient,  # noqa: F811
    corpus: list[dict[str, Any]],  # noqa: F811
    engine: Engine,
) -> None:
    nonsense = client.get("/search", params={"q": "xyzzyqq"}).text
    assert "No papers match “xyzzyqq”" in nonsense
    assert "spelling" not in nonsense and "Did you mean" not in nonsense
    filtered = client.get("/search", params={"q": WORD, "author": "Nobody Atall"}).text
    assert "No papers by Nobody Atall match “language”" in filtered
    assert f"Without the filters, {holding(engine, WORD):,} papers match" in filtered
    assert "spelling" not in filtered
    only_code = client.get("/search", params={"q": WORD, "code": "1"}).text
    assert "with code" in only_code and "spelling" not in only_code


def test_search_feed_keeps_filters_and_sort(
    client: TestClient,  # noqa: F811
    corpus: list[dict[str, Any]],  # noqa: F811
) -> None:
    page = client.get("/search", params={"q": WORD, "cat": "cs.CL", "sort": "date"}).text
    link = re.search(r'href="(/feeds/search\.atom\?[^"]+)"', page)
    assert link
    params = parse_qs(urlsplit(link.group(1).replace("&amp;", "&")).query)
    assert params == {"q": [WORD], "cat": ["cs.CL"], "sort": ["date"]}
    feed = feedparser.parse(client.get(link.group(1).replace("&amp;", "&")).content)
    assert feed.entries
    assert all("cs.CL" in [t.term for t in e.tags] for e in feed.entries)
    published = [e.published for e in feed.entries]
    assert published == sorted(published, reverse=True)
