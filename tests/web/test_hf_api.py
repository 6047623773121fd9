"""The Hugging Face-compatible API, called by the real ``huggingface_hub`` client against a
real server (uvicorn on 127.0.0.1), on both backends; plus the shapes and errors directly."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from huggingface_hub import HfApi
from huggingface_hub.errors import HfHubHTTPError
from sqlalchemy import Engine, insert

from paperfeed.domain import Link
from paperfeed.rank.trending import recompute_trending, record_activity
from paperfeed.store.community_schema import submissions
from paperfeed.store.engine import write_transaction
from paperfeed.web.app import create_app
from tests.factories import add_papers, add_user
from tests.live_server import serve_app
from tests.web.test_pages import real

DAY = date(2026, 5, 4)  # a Monday: week 2026-W19
TODAY = datetime.now(UTC).date()


@pytest.fixture
def corpus(engine: Engine) -> dict[str, int]:
    pks = add_papers(
        engine,
        real(0, featured_day=DAY, upvotes=3, submitter="akhaliq"),
        real(1, featured_day=DAY, upvotes=8, links=[Link("code", "https://github.com/o/r", 77)]),
        real(2, featured_day=DAY + timedelta(days=2), upvotes=1),
        real(3, featured_day=DAY + timedelta(days=30), upvotes=0),  # June
        real(4, featured_day=TODAY, upvotes=2),
    )
    user_pk = add_user(engine, "ada")
    with write_transaction(engine) as conn:
        conn.execute(
            insert(submissions).values(
                paper_pk=pks[str(real(2).id)],
                user_pk=user_pk,
                source="arxiv",
                created_at=datetime.now(UTC),
            )
        )
        record_activity(conn, pks[str(real(0).id)], "comment")
        record_activity(conn, pks[str(real(0).id)], "comment")
        record_activity(conn, pks[str(real(3).id)], "upvote", 20)
    recompute_trending(engine)
    return pks


@pytest.fixture
def site(engine: Engine) -> Iterator[str]:
    with serve_app() as url:
        yield url


@pytest.fixture
def hf(site: str, monkeypatch: pytest.MonkeyPatch) -> HfApi:
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    return HfApi(endpoint=site, token=False)


def test_list_daily_papers_by_date_week_and_month(hf: HfApi, corpus: dict[str, int]) -> None:
    day = list(hf.list_daily_papers(date=DAY.isoformat()))
    assert [p.id for p in day] == [real(1).id, real(0).id]  # most upvoted first
    top = day[0]
    assert top.title == real(1).title
    assert top.summary == real(1).abstract
    assert [a.name for a in top.authors or []] == real(1).authors
    assert top.upvotes == 8
    assert top.published_at is not None and top.published_at.date() == real(1).published
    assert top.submitted_at is not None and top.submitted_at.date() == DAY
    assert top.github_repo == "https://github.com/o/r" and top.github_stars == 77
    second = day[1]
    assert second.comments == 2
    assert second.submitted_by is not None and second.submitted_by.username == "akhaliq"
    week = [p.id for p in hf.list_daily_papers(week="2026-W19")]
    assert week == [real(2).id, real(1).id, real(0).id]  # newest day first
    month = [p.id for p in hf.list_daily_papers(month="2026-05")]
    assert set(month) == {real(0).id, real(1).id, real(2).id}
    assert [p.id for p in hf.list_daily_papers(month="2026-06")] == [real(3).id]


def test_list_daily_papers_paging_sorting_and_submitter(hf: HfApi, corpus: dict[str, int]) -> None:
    everything = [p.id for p in hf.list_daily_papers()]
    assert everything[0] == real(4).id  # newest day first
    assert len(everything) == 5
    pages = [p.id for n in range(3) for p in hf.list_daily_papers(p=n, limit=2)]
    assert pages == everything
    trending = [p.id for p in hf.list_daily_papers(sort="trending", limit=2)]
    # 20 upvotes here today; 2 imported today. real(1)'s 77 stars were there when it came
    # (they count on its own day, in May), so they are not new.
    assert trending == [real(3).id, real(4).id]
    assert [p.id for p in hf.list_daily_papers(submitter="ada")] == [real(2).id]
    assert [p.id for p in hf.list_daily_papers(submitter="akhaliq")] == [real(0).id]
    ada = next(iter(hf.list_daily_papers(submitter="ada")))
    assert ada.submitted_by is not None and ada.submitted_by.username == "ada"
    assert list(hf.list_daily_papers(submitter="nobody")) == []


def test_paper_info_and_read_paper(hf: HfApi, corpus: dict[str, int]) -> None:
    info = hf.paper_info(real(1).id)
    assert info.id == real(1).id and info.title == real(1).title
    assert info.summary == real(1).abstract and info.upvotes == 8
    assert [a.name for a in info.authors or []] == real(1).authors
    assert info.github_stars == 77
    markdown = hf.read_paper(real(1).id)
    assert markdown.startswith(f"# {real(1).title}\n") and real(1).abstract in markdown
    with pytest.raises(HfHubHTTPError) as missing:
        hf.paper_info("2999.99999")
    assert missing.value.response.status_code == 404
    with pytest.raises(HfHubHTTPError):
        hf.read_paper("2999.99999")


def test_list_papers_searches(hf: HfApi, corpus: dict[str, int]) -> None:
    words = " ".join(real(1).title.split()[:5])
    found = list(hf.list_papers(query=words))
    assert found and found[0].id == real(1).id and found[0].title == real(1).title


def test_api_routes_do_not_swallow_each_other(engine: Engine, corpus: dict[str, int]) -> None:
    with TestClient(create_app()) as client:
        assert isinstance(client.get("/api/papers/search", params={"q": "x"}).json(), list)
        similar = client.get(f"/api/papers/{real(0).id}/similar")
        assert similar.status_code == 200 and isinstance(similar.json(), list)
        comments = client.get(f"/api/papers/{real(0).id}/comments")
        assert comments.status_code == 200 and isinstance(comments.json(), list)
        one = client.get(f"/api/papers/arXiv:{real(0).id}v2").json()
        assert one["id"] == real(0).id and one["numComments"] == 2
        # Trending counts commenters (rows of the comments table); the fixture moved only
        # the counters, so no one has commented as far as trending can tell.
        assert one["trending"]["terms"]["comments"]["count"] == 0


@pytest.mark.parametrize(
    "params",
    [
        {"date": "2026-13-01"},
        {"week": "2026-W99"},
        {"month": "May"},
        {"date": "0"},  # not read as a Unix time
        {"date": "2026-02-30"},
        {"p": "1001"},
        {"sort": "votes"},
        {"limit": "0"},
        {"limit": "101"},
        {"p": "-1"},
    ],
)
def test_bad_parameters_are_422_with_a_message(engine: Engine, params: dict[str, str]) -> None:
    with TestClient(create_app()) as client:
        response = client.get("/api/daily_papers", params=params)
    assert response.status_code == 422
    detail = response.json()["detail"]
    assert detail[0]["loc"][0] == "query" and detail[0]["msg"]  # FastAPI's documented shape


def test_control_characters_get_a_clear_answer_not_a_500(
    engine: Engine, corpus: dict[str, int]
) -> None:
    with TestClient(create_app()) as client:
        odd = client.get("/api/daily_papers", params={"submitter": "a\x01b"})
        assert odd.status_code == 200 and odd.json() == []  # nobody is called that
        # A NUL byte is refused before any route runs (request_guards.NulBytes).
        nul = client.get("/api/daily_papers", params={"submitter": "a\x00b"})
        assert nul.status_code == 400
        # A week the pattern admits but the calendar lacks (2025 has 52 ISO weeks): no papers.
        assert client.get("/api/daily_papers", params={"week": "2025-W53"}).json() == []
        both = client.get("/api/daily_papers", params={"date": "2026-05-04", "month": "2026-06"})
        assert [item["paper"]["id"] for item in both.json()] == [real(1).id, real(0).id]
        assert client.get("/api/papers/2401%0012345").status_code == 400
        assert client.get("/papers/2401%0012345").status_code == 400
        assert client.get("/papers/2401%0012345.md").status_code == 400
        assert client.get("/api/papers/" + "9" * 5000).status_code == 404
