"""The page cache (web/page_cache.py) on both backends: anonymous pages kept until a write that
changes them, signed-in pages never kept, ETag/304, and HEAD on every GET page."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, update

from paperfeed.community.sessions import create_api_token
from paperfeed.store.engine import write_transaction
from paperfeed.store.schema import papers
from tests.factories import add_paper, add_user, anonymous, signed_in

DAY = date(2026, 5, 4)
PAGES = [
    "/",
    "/date/2026-05-04",
    "/week/2026-W19",
    "/month/2026-05",
    "/trending",
    "/papers/2401.12345",
    "/papers/2401.12345.md",
    "/feeds/daily.atom",
    "/feeds/trending.rss",
]


@pytest.fixture
def client(engine: Engine) -> Iterator[TestClient]:
    add_paper(engine, "2401.12345", title="Landmark Attention", featured_day=DAY)
    with anonymous() as client:
        yield client


def _upvote(engine: Engine, paper_id: str = "2401.12345") -> None:
    token = create_api_token(engine, add_user(engine), "test")
    with anonymous() as voter:
        response = voter.post(
            f"/api/papers/{paper_id}/upvote",
            json={"upvoted": True},
            headers={"Authorization": f"Bearer {token}"},
        )
    assert response.status_code == 200, response.text


@pytest.mark.parametrize("path", PAGES)
def test_an_anonymous_page_is_rendered_once_then_served_from_the_cache(
    client: TestClient, path: str
) -> None:
    first, second = client.get(path), client.get(path)
    assert first.status_code == second.status_code == 200
    assert (first.headers["x-page-cache"], second.headers["x-page-cache"]) == ("miss", "hit")
    assert first.content == second.content
    assert first.headers["etag"] == second.headers["etag"]
    assert second.headers["content-security-policy"]  # the outer layers still run on a hit


@pytest.mark.parametrize("path", ["/", "/date/2026-05-04", "/trending", "/papers/2401.12345"])
def test_a_vote_renews_every_kept_page(engine: Engine, client: TestClient, path: str) -> None:
    before = client.get(path)
    assert client.get(path).headers["x-page-cache"] == "hit"
    _upvote(engine)
    after = client.get(path)
    assert after.headers["x-page-cache"] == "miss"
    assert after.headers["etag"] != before.headers["etag"]
    assert 'class="vote-count">1<' in after.text


def test_ingest_hiding_and_comments_each_renew_the_pages(
    engine: Engine, client: TestClient
) -> None:
    assert "Landmark Attention" in client.get("/").text
    add_paper(engine, "2401.99999", title="A Second Paper", featured_day=DAY)
    assert "A Second Paper" in client.get("/").text
    with write_transaction(engine) as conn:
        conn.execute(update(papers).where(papers.c.id == "2401.99999").values(hidden_at=_now()))
    assert "A Second Paper" not in client.get("/").text
    page = client.get("/papers/2401.12345")
    assert client.get("/papers/2401.12345").headers["x-page-cache"] == "hit"
    user = add_user(engine)
    with signed_in(engine, user) as member:
        token = member.get("/papers/2401.12345").text.split('name="csrf_token" value="')[1][:64]
        posted = member.post(
            "/papers/2401.12345/comments",
            data={"body": "A comment everyone must see", "csrf_token": token},
            follow_redirects=False,
        )
        assert posted.status_code in (200, 303), posted.text
    fresh = client.get("/papers/2401.12345")
    assert fresh.headers["etag"] != page.headers["etag"]
    assert "A comment everyone must see" in fresh.text


def test_a_write_to_a_table_no_page_shows_keeps_the_pages(
    engine: Engine, client: TestClient
) -> None:
    client.get("/")
    user = add_user(engine)  # accounts are a page table (a suspension hides comments) ...
    client.get("/")
    with signed_in(engine, user):  # ... sessions are not
        pass
    assert client.get("/").headers["x-page-cache"] == "hit"


def test_a_signed_in_reader_is_never_served_a_kept_page(engine: Engine, client: TestClient) -> None:
    client.get("/")
    user = add_user(engine)
    with signed_in(engine, user) as member:
        page = member.get("/")
        assert page.headers["x-page-cache"] == "bypass"
        assert "private" in page.headers["cache-control"]
        assert member.get("/").headers["x-page-cache"] == "bypass"


def test_the_reader_who_voted_sees_their_vote_at_once(engine: Engine, client: TestClient) -> None:
    user = add_user(engine)
    token = create_api_token(engine, user, "test")
    client.get("/")
    with signed_in(engine, user) as member:
        before = member.get("/").text
        response = member.post(
            "/api/papers/2401.12345/upvote",
            json={"upvoted": True},
            headers={"Authorization": f"Bearer {token}"},
        )
        assert response.status_code == 200
        after = member.get("/").text
    assert before.count('aria-pressed="true"') == 0
    assert after.count('aria-pressed="true"') == 1


def test_a_matching_etag_gets_a_304_without_a_body(engine: Engine, client: TestClient) -> None:
    etag = client.get("/").headers["etag"]
    again = client.get("/", headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.content == b""
    assert again.headers["etag"] == etag
    assert client.get("/", headers={"If-None-Match": '"other", ' + etag}).status_code == 304
    _upvote(engine)
    assert client.get("/", headers={"If-None-Match": etag}).status_code == 200


def test_signed_in_pages_get_304s_too(engine: Engine, client: TestClient) -> None:
    with signed_in(engine, add_user(engine)) as member:
        etag = member.get("/trending").headers["etag"]
        assert member.get("/trending", headers={"If-None-Match": etag}).status_code == 304


@pytest.mark.parametrize("path", [*PAGES, "/healthz", "/search?q=attention", "/static/style.css"])
def test_head_answers_every_get_page_with_its_headers_and_no_body(
    client: TestClient, path: str
) -> None:
    got = client.get(path)
    head = client.head(path)
    assert head.status_code == got.status_code == 200
    assert head.content == b""
    assert head.headers["content-type"] == got.headers["content-type"]
    assert head.headers["content-length"] == str(len(got.content))


def test_head_of_a_missing_page_is_a_404(client: TestClient) -> None:
    assert client.head("/papers/2499.00000").status_code == 404
    assert client.head("/no-such-page").status_code == 404


def test_zero_seconds_turns_the_cache_off(engine: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PAPERFEED_PAGE_CACHE_SECONDS", "0")
    add_paper(engine, "2401.12345", featured_day=DAY)
    with anonymous() as client:
        assert [client.get("/").headers["x-page-cache"] for _ in range(2)] == ["bypass"] * 2


def test_a_page_older_than_the_limit_is_rendered_again(
    engine: Engine, client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    client.get("/")
    moment = [10_000.0]
    monkeypatch.setattr("paperfeed.web.page_cache.time.monotonic", lambda: moment[0])
    client.get("/trending")
    moment[0] += 59
    assert client.get("/trending").headers["x-page-cache"] == "hit"
    moment[0] += 2
    assert client.get("/trending").headers["x-page-cache"] == "miss"


def test_a_browser_navigation_to_a_paper_page_runs_the_page_to_count_the_view(
    client: TestClient,
) -> None:
    navigate = {"Sec-Fetch-Mode": "navigate", "Sec-Fetch-Dest": "document"}
    client.get("/papers/2401.12345")
    assert client.get("/papers/2401.12345", headers=navigate).headers["x-page-cache"] == "bypass"


def _now() -> datetime:
    return datetime.now(UTC)
