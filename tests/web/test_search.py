"""Search page and search API through FastAPI's TestClient over ~200 real papers, both backends."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, date, datetime
from html.parser import HTMLParser
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, update

from paperfeed.domain import PaperRecord
from paperfeed.search.indexer import update_index
from paperfeed.store.engine import write_transaction
from paperfeed.store.schema import papers
from paperfeed.web.app import create_app
from paperfeed.web.search_page import MAX_PAGE_PARAM
from tests.conftest import arxiv_rows
from tests.factories import add_papers
from tests.search.dense_helpers import CachedEmbedder
from tests.web.test_home import HOSTILE, assert_security_headers

CORPUS = 200
OLD_STYLE_ID = "cs/0601001"  # an arXiv id with a slash: /api/papers/{id}/similar must route
HOSTILE_QUERIES = [HOSTILE, '"><img src=x onerror=alert(1)>', "' onmouseover='alert(1)"]


PAPERS: list[dict[str, Any]] = arxiv_rows(CORPUS)  # type: ignore[assignment]


def record(row: dict[str, Any]) -> PaperRecord:
    return PaperRecord(
        id=row["id"],
        title=row["title"],
        abstract=row["abstract"],
        authors=row["authors"],
        categories=row["categories"],
        published=date.fromisoformat(row["listed"]),
    )


class ResultsScan(HTMLParser):
    """Script elements, on* attributes, links, and each result's title (with its <mark>s)."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[str] = []
        self.handlers: list[str] = []
        self.scripts: list[str] = []  # each script's src ("" for an inline one)
        self.links: dict[str, str] = {}  # rel -> href (prev/next)
        self.titles: list[str] = []  # result titles as text, page order
        self.marked: list[bool] = []  # whether each title holds a <mark>
        self._in_title = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        self.handlers += [name for name, _ in attrs if name.startswith("on")]
        found = dict(attrs)
        if tag == "script":
            self.scripts.append(found.get("src") or "")
        if tag == "a" and found.get("rel"):
            self.links[found["rel"] or ""] = found.get("href") or ""
        if tag == "h2" and "paper-title" in (found.get("class") or ""):
            self._in_title = True
            self.titles.append("")
            self.marked.append(False)
        if tag == "mark" and self._in_title:
            self.marked[-1] = True

    def handle_endtag(self, tag: str) -> None:
        self._in_title = self._in_title and tag != "h2"

    def handle_data(self, data: str) -> None:
        if self._in_title:
            self.titles[-1] += data


def scan(html: str) -> ResultsScan:
    parser = ResultsScan()
    parser.feed(html)
    return parser


@pytest.fixture
def client(engine: Engine) -> Iterator[TestClient]:
    with TestClient(create_app()) as client:
        yield client


@pytest.fixture
def corpus(engine: Engine) -> list[dict[str, Any]]:
    add_papers(engine, *[record(row) for row in PAPERS])
    return PAPERS


def pick(papers: list[dict[str, Any]]) -> dict[str, Any]:
    """A paper whose title has enough long words to search for."""
    return next(p for p in papers if len([w for w in p["title"].split() if len(w) > 7]) >= 3)


def keywords(title: str) -> str:
    words = [w.strip(":,.()") for w in title.split() if len(w) > 7]
    return " ".join(words[:3])


def test_the_page_finds_a_paper_by_keywords_and_marks_them(
    client: TestClient, corpus: list[dict[str, Any]]
) -> None:
    paper = pick(corpus)
    response = client.get("/search", params={"q": keywords(paper["title"])})
    assert response.status_code == 200
    page = scan(response.text)
    assert paper["title"] in page.titles[:3]
    assert page.marked[page.titles.index(paper["title"])]
    assert f"https://arxiv.org/abs/{paper['id']}" in response.text


@pytest.mark.parametrize("query", HOSTILE_QUERIES)
def test_a_hostile_query_is_escaped(
    client: TestClient, corpus: list[dict[str, Any]], query: str
) -> None:
    # The query comes back in both search boxes, the title and the no-results message.
    response = client.get("/search", params={"q": query})
    assert response.status_code == 200
    page = scan(response.text)
    # Only the site's own scripts (htmx, the search page's), none inline, no injected image.
    assert page.scripts and all(src.startswith("/static/") for src in page.scripts)
    assert "img" not in page.tags
    assert page.handlers == []
    assert "&lt;script&gt;" in client.get("/search", params={"q": HOSTILE}).text


def test_results_are_paged_with_links_both_ways(
    client: TestClient, corpus: list[dict[str, Any]]
) -> None:
    first = scan(client.get("/search", params={"q": "model"}).text)
    assert len(first.titles) == 20
    assert "prev" not in first.links
    assert first.links["next"] == "/search?q=model&page=2"
    second = scan(client.get(first.links["next"]).text)
    assert second.links["prev"] == "/search?q=model"
    assert second.titles and not set(second.titles) & set(first.titles)


def test_empty_and_unmatched_queries_say_what_to_do(client: TestClient, corpus: Any) -> None:
    empty = client.get("/search")
    assert empty.status_code == 200 and "Type a few words" in empty.text
    assert scan(empty.text).titles == []
    none = client.get("/search", params={"q": "zzqxjv"})
    assert none.status_code == 200 and "No papers match" in none.text


def test_a_bad_page_number_is_a_page_not_a_crash(client: TestClient) -> None:
    response = client.get("/search", params={"q": "model", "page": "0"})
    assert response.status_code == 422
    assert response.headers["content-type"].startswith("text/html")


@pytest.mark.parametrize("page", ["50", "999", "1000"])
def test_a_page_past_the_results_says_so_and_links_to_the_first(
    client: TestClient, corpus: Any, page: str
) -> None:
    response = client.get("/search", params={"q": "model", "page": page})
    assert response.status_code == 200
    assert "No more results for “model”" in response.text
    assert '<a href="/search?q=model">Back to the first page</a>' in response.text
    assert scan(response.text).titles == []


def test_a_page_number_past_the_bound_or_not_a_number_gets_the_site_error_page(
    client: TestClient,
) -> None:
    for page in (str(MAX_PAGE_PARAM + 1), "abc"):
        response = client.get("/search", params={"q": "model", "page": page})
        assert response.status_code == 422
        assert response.headers["content-type"].startswith("text/html")
        # The site's own page (header, navigation, the reason), not a bare message.
        assert '<nav class="site-nav"' in response.text
        assert "<h1>Invalid request</h1>" in response.text


def test_the_api_puts_an_exact_title_first_in_hugging_face_shape(
    client: TestClient, corpus: list[dict[str, Any]]
) -> None:
    paper = corpus[42]
    response = client.get("/api/papers/search", params={"q": paper["title"]})
    assert response.status_code == 200
    top = response.json()[0]
    assert top["id"] == top["paper"]["id"] == paper["id"]
    assert top["paper"]["summary"] == paper["abstract"]
    assert [a["name"] for a in top["paper"]["authors"]] == paper["authors"]
    assert top["publishedAt"].startswith(paper["listed"])
    assert top["stages"]["pinned"] == "title" and top["stages"]["lexical"]["rank"] == 1
    assert top["score"] > 0
    assert "<mark>" in top["highlight"]["title"]


def test_huggingface_hub_reads_the_api_answer(
    client: TestClient, corpus: list[dict[str, Any]]
) -> None:
    hf_api = pytest.importorskip("huggingface_hub.hf_api")
    paper = corpus[7]
    items = client.get("/api/papers/search", params={"q": paper["title"], "limit": 3}).json()
    info = hf_api.PaperInfo(**items[0])
    assert (info.id, info.title, info.summary) == (paper["id"], paper["title"], paper["abstract"])
    assert info.authors[0].name == paper["authors"][0]
    assert info.published_at.date() == date.fromisoformat(paper["listed"])


def test_an_arxiv_id_finds_that_paper(client: TestClient, corpus: list[dict[str, Any]]) -> None:
    paper = corpus[99]
    for query in (paper["id"], f"arXiv:{paper['id']}", f"https://arxiv.org/abs/{paper['id']}"):
        found = client.get("/api/papers/search", params={"q": query}).json()
        assert found[0]["id"] == paper["id"], query
        assert found[0]["stages"]["pinned"] == "arxiv_id"


@pytest.mark.parametrize("limit", [1, 7, 100])
def test_the_api_returns_at_most_limit(client: TestClient, corpus: Any, limit: int) -> None:
    found = client.get("/api/papers/search", params={"q": "learning", "limit": limit}).json()
    assert 1 <= len(found) <= limit
    if limit < 20:
        assert len(found) == limit


@pytest.mark.parametrize(
    "params", [{"q": "x", "limit": "0"}, {"q": "x", "limit": "101"}, {"q": "x", "limit": "ten"}]
)
def test_bad_api_parameters_are_422(client: TestClient, params: dict[str, str]) -> None:
    response = client.get("/api/papers/search", params=params)
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["query", "limit"]


def test_an_empty_api_query_finds_nothing(client: TestClient, corpus: Any) -> None:
    assert client.get("/api/papers/search", params={"q": "  "}).json() == []


def test_similar_papers_are_neighbours_never_the_paper(
    engine: Engine, client: TestClient, corpus: list[dict[str, Any]]
) -> None:
    old = PAPERS[3] | {"id": OLD_STYLE_ID, "title": "An old-style id: " + PAPERS[3]["title"]}
    add_papers(engine, record(old))
    update_index(engine, CachedEmbedder())
    paper = corpus[10]
    response = client.get(f"/api/papers/{paper['id']}/similar", params={"limit": 5})
    assert response.status_code == 200
    rows = response.json()
    assert len(rows) == 5 and paper["id"] not in [r["id"] for r in rows]
    assert all(set(r) == {"id", "title", "score"} for r in rows)
    assert [r["score"] for r in rows] == sorted((r["score"] for r in rows), reverse=True)
    # The old-style id routes through the path converter; its twin is its nearest neighbour.
    twin = client.get(f"/api/papers/{OLD_STYLE_ID}/similar").json()
    assert twin[0]["id"] == PAPERS[3]["id"] and OLD_STYLE_ID not in [r["id"] for r in twin]


def test_a_misspelt_search_says_what_it_shows_results_for(
    client: TestClient, corpus: list[dict[str, Any]]
) -> None:
    assert any("Gaussian Splatting" in paper["title"] for paper in corpus)
    page = client.get("/search", params={"q": "gausian splatting"}).text
    assert "Showing results for <strong>gaussian splatting</strong>" in page
    assert "Showing results for" not in client.get("/search", params={"q": "gaussian"}).text


def test_similar_takes_any_arxiv_spelling_and_never_shows_hidden_papers(
    engine: Engine, client: TestClient, corpus: list[dict[str, Any]]
) -> None:
    update_index(engine, CachedEmbedder())
    paper = corpus[10]
    plain = client.get(f"/api/papers/{paper['id']}/similar", params={"limit": 5}).json()
    for spelling in (f"arXiv:{paper['id']}v2", f"{paper['id']}v1"):
        assert client.get(f"/api/papers/{spelling}/similar", params={"limit": 5}).json() == plain
    neighbour = plain[0]["id"]
    with write_transaction(engine) as conn:  # moderators hide the nearest neighbour
        conn.execute(
            update(papers).where(papers.c.id == neighbour).values(hidden_at=datetime.now(UTC))
        )
    after = client.get(f"/api/papers/{paper['id']}/similar", params={"limit": 5}).json()
    assert len(after) == 5 and neighbour not in [r["id"] for r in after]
    assert client.get(f"/api/papers/{neighbour}/similar").status_code == 404


def test_similar_for_an_unknown_paper_is_a_json_404(client: TestClient) -> None:
    response = client.get("/api/papers/2401.99999/similar")
    assert response.status_code == 404
    assert response.json()["detail"] == "No paper with id '2401.99999'."


@pytest.mark.parametrize(
    "path",
    [
        "/search",
        "/search?q=attention",
        "/search?page=-1",
        "/api/papers/search?q=attention",
        "/api/papers/search?limit=0",
        "/api/papers/cs/0601001/similar",
    ],
)
def test_every_search_response_sends_the_security_headers(client: TestClient, path: str) -> None:
    assert_security_headers(client.get(path))


def test_filters_and_sort_narrow_the_page_and_survive_paging(
    client: TestClient, corpus: list[dict[str, Any]]
) -> None:
    category = corpus[0]["categories"][0]
    in_category = {p["title"] for p in corpus if category in p["categories"]}
    page = client.get("/search", params={"q": "learning", "cat": category, "sort": "date"})
    assert page.status_code == 200
    titles = scan(page.text).titles
    assert titles and set(titles) <= in_category
    assert f'name="cat" value="{category}"' in page.text and 'value="date" selected' in page.text
    # Filters alone are a search; an empty one is the tips page.
    only = client.get("/search", params={"cat": category})
    assert set(scan(only.text).titles) <= in_category and scan(only.text).titles
    listed = sorted({p["listed"] for p in corpus})
    day = listed[len(listed) // 2]
    dated = client.get("/search", params={"q": "model", "from": day, "to": day})
    on_day = {p["title"] for p in corpus if p["listed"] == day}
    assert set(scan(dated.text).titles) <= on_day
    author = corpus[3]["authors"][0]
    by_author = client.get("/search", params={"author": author})
    assert corpus[3]["title"] in scan(by_author.text).titles
    assert client.get("/search", params={"q": "x", "sort": "loudest"}).status_code == 422
    assert client.get("/search", params={"q": "x", "from": "yesterday"}).status_code == 422


def test_filters_stay_in_the_page_links(client: TestClient, corpus: Any) -> None:
    page = client.get("/search", params={"q": "learning", "sort": "upvotes", "code": "0"})
    links = scan(page.text).links
    if "next" in links:
        assert "sort=upvotes" in links["next"] and "q=learning" in links["next"]


def test_results_link_to_the_paper_page_and_offer_a_feed(
    client: TestClient, corpus: list[dict[str, Any]]
) -> None:
    paper = pick(corpus)
    page = client.get("/search", params={"q": keywords(paper["title"])})
    assert f'href="/papers/{paper["id"]}"' in page.text
    assert 'type="application/atom+xml"' in page.text and "/feeds/search.atom?q=" in page.text
    # Search as you type: the box asks htmx for this page and swaps in its #results part.
    assert 'hx-select="#results"' in page.text and 'id="results"' in page.text


def test_hidden_papers_leave_search(
    engine: Engine, client: TestClient, corpus: list[dict[str, Any]]
) -> None:
    paper = pick(corpus)
    query = {"q": keywords(paper["title"])}
    assert paper["title"] in scan(client.get("/search", params=query).text).titles
    with write_transaction(engine) as conn:
        conn.execute(
            update(papers).where(papers.c.id == paper["id"]).values(hidden_at=datetime.now(UTC))
        )
    assert paper["title"] not in scan(client.get("/search", params=query).text).titles
    api = client.get("/api/papers/search", params=query).json()
    assert paper["id"] not in [item["id"] for item in api]


def test_a_form_with_empty_fields_searches(client: TestClient, corpus: Any) -> None:
    # What a browser sends when the filters are left blank (and what htmx sends as you type).
    blank = {"q": "learning", "cat": "", "author": "", "from": "", "to": "", "sort": "relevance"}
    page = client.get("/search", params=blank)
    assert page.status_code == 200 and scan(page.text).titles


def test_our_scripts_and_stylesheet_carry_one_fingerprint(client: TestClient) -> None:
    page = client.get("/search").text
    versions = re.findall(r'/static/(?:style\.css|search\.js)\?v=([0-9a-f]{10})"', page)
    assert len(versions) == 2 and len(set(versions)) == 1  # a deploy that changes either busts both
