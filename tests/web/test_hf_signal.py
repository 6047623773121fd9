"""Imported signal and real dates through the real ``huggingface_hub`` client against a live
paperfeed: upvotes, stars, submitter, ``published_at`` (the first version's date) and
``submitted_at`` (the day it was on the daily list), and the date on the page and in BibTeX."""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from datetime import date

import pytest
from fastapi.testclient import TestClient
from huggingface_hub import HfApi
from sqlalchemy import Engine

from paperfeed.domain import PaperRecord
from paperfeed.ingest.formats import ParseOptions
from paperfeed.ingest.service import run_ingest
from paperfeed.ingest.sources import file_source
from paperfeed.web.app import create_app
from tests.conftest import REPO
from tests.factories import add_papers
from tests.live_server import serve_app

RECORDED = REPO / "tests" / "data" / "recorded" / "hf_daily_2024-01-12.json"
DAY = date(2024, 1, 12)
UNDATED = "2403.01234"  # a listing with no date: its arXiv id says March 2024


@pytest.fixture
def hub_items(engine: Engine) -> list[dict[str, object]]:
    run_ingest(engine, file_source(str(RECORDED), "hf-daily", ParseOptions()))
    add_papers(engine, PaperRecord(id=UNDATED, title="An undated listing", abstract="Text."))
    items: list[dict[str, object]] = json.loads(RECORDED.read_text())
    return items


@pytest.fixture
def hf(engine: Engine, monkeypatch: pytest.MonkeyPatch) -> Iterator[HfApi]:
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    with serve_app() as url:
        yield HfApi(endpoint=url, token=False)


def test_daily_papers_show_imported_upvotes_stars_and_real_dates(
    hub_items: list[dict[str, object]], hf: HfApi
) -> None:
    listed = {p.id: p for p in hf.list_daily_papers(date=DAY.isoformat())}
    trending = [p.id for p in hf.list_daily_papers(sort="trending", limit=3)]
    for item in hub_items:
        paper = item["paper"]
        assert isinstance(paper, dict)
        got = listed[paper["id"]]
        assert got.upvotes == paper["upvotes"]
        assert got.github_stars == paper.get("githubStars")
        assert got.published_at is not None
        assert got.published_at.date().isoformat() == str(paper["publishedAt"])[:10]
        assert got.submitted_at is not None and got.submitted_at.date() == DAY
        assert got.submitted_by is not None and got.submitted_by.username == "akhaliq"
    # Nothing newer is here, so trending is as of the end of that day, when its noon is 12
    # hours (half a half-life) back: the published formula, 0.5 x decayed upvotes + log2(1 +
    # decayed stars), orders them (the stars they came with count on their own day).
    d = 0.5 ** (12 / 24)
    papers = [item["paper"] for item in hub_items]
    points = {
        p["id"]: 0.5 * p["upvotes"] * d + math.log2(1 + p.get("githubStars", 0) * d)  # type: ignore[index,union-attr]
        for p in papers
    }
    assert trending == sorted(points, key=lambda pid: -points[pid])


def test_paper_info_dates_and_bibtex_year(hub_items: list[dict[str, object]], hf: HfApi) -> None:
    first = hub_items[0]["paper"]
    assert isinstance(first, dict)
    info = hf.paper_info(str(first["id"]))
    assert info.published_at is not None
    assert info.published_at.date().isoformat() == str(first["publishedAt"])[:10]
    assert info.submitted_at is not None and info.submitted_at.date() == DAY
    assert info.upvotes == first["upvotes"] and info.github_stars == first["githubStars"]
    undated = hf.paper_info(UNDATED)
    assert undated.published_at is not None and undated.published_at.date() == date(2024, 3, 1)
    assert undated.submitted_at is None  # never on a daily list
    with TestClient(create_app(), base_url="https://testserver") as client:
        page = client.get(f"/papers/{UNDATED}").text
    assert '<time datetime="2024-03-01">' in page and "year = {2024}" in page


def test_ai_summary_and_keywords_reach_the_hub_client_and_the_page(
    hub_items: list[dict[str, object]], hf: HfApi
) -> None:
    hub = next(i["paper"] for i in hub_items if "ai_summary" in i["paper"])  # type: ignore[operator]
    assert isinstance(hub, dict)
    info = hf.paper_info(hub["id"])
    assert info.ai_summary == hub["ai_summary"] and info.ai_keywords == hub["ai_keywords"]
    listed = {p.id: p for p in hf.list_daily_papers(date=DAY.isoformat())}
    assert listed[hub["id"]].ai_summary == hub["ai_summary"]
    assert listed[hub["id"]].ai_keywords == hub["ai_keywords"]
    others = [p for pid, p in listed.items() if pid != hub["id"]]
    assert others and all(p.ai_summary is None and p.ai_keywords is None for p in others)
    with TestClient(create_app(), base_url="https://testserver") as client:
        page = client.get(f"/papers/{hub['id']}").text
        plain = client.get(f"/papers/{others[0].id}").text
    assert "AI summary" in page and "(from Hugging Face)" in page
    assert f"<p>{hub['ai_summary']}</p>" in page
    assert 'href="/search?q=score%20distillation">score distillation</a>' in page
    assert "AI summary" not in plain


def test_ai_fields_on_the_page_are_escaped(engine: Engine) -> None:
    record = PaperRecord(
        id="2401.00002",
        title="A paper",
        abstract="Text.",
        ai_summary="<script>alert(1)</script> & more",
        ai_keywords=['<img src=x onerror="alert(2)">'],
    )
    add_papers(engine, record)
    with TestClient(create_app(), base_url="https://testserver") as client:
        page = client.get("/papers/2401.00002").text
    assert (
        "<script>alert(1)" not in page
        and "&lt;script&gt;alert(1)&lt;/script&gt; &amp; more" in page
    )
    assert "<img" not in page and "&lt;img src=x onerror=" in page
