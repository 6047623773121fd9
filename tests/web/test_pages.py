"""Daily, weekly, monthly, trending and paper pages through TestClient, on both backends."""

from __future__ import annotations

import io
import re
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select, update

from paperfeed.community.comments import add_comment
from paperfeed.community.sessions import start_session
from paperfeed.community.votes import set_vote
from paperfeed.domain import Link, PaperRecord
from paperfeed.ingest.formats import ParseOptions
from paperfeed.ingest.formats import bibtex as bibtex_format
from paperfeed.rank.trending import recompute_trending, record_activity
from paperfeed.store.community_schema import paper_activity, paper_stats, users
from paperfeed.store.engine import write_transaction
from paperfeed.store.schema import papers
from paperfeed.web import feed_pages
from paperfeed.web.app import create_app
from paperfeed.web.auth_deps import SESSION_COOKIE
from paperfeed.web.citation import bibtex
from paperfeed.web.templating import author_url
from tests.conftest import arxiv_rows
from tests.factories import add_papers, add_user, load_user
from tests.web.test_home import HOSTILE, assert_security_headers, only_site_scripts, scan

DAY = date(2026, 5, 4)
NAVIGATE = {"sec-fetch-mode": "navigate", "sec-fetch-dest": "document", "sec-fetch-site": "none"}


def real(index: int, **fields: Any) -> PaperRecord:
    """A real arXiv paper (title, abstract, authors, categories) with ``fields`` set."""
    row = arxiv_rows(60)[index]
    record = PaperRecord(
        id=str(row["id"]),
        title=str(row["title"]),
        abstract=str(row["abstract"]),
        authors=list(row["authors"]),  # type: ignore[call-overload]
        categories=list(row["categories"]),  # type: ignore[call-overload]
        published=date.fromisoformat(str(row["listed"])),
    )
    for name, value in fields.items():
        setattr(record, name, value)
    return record


def set_first_seen(engine: Engine, pk: int, when: datetime) -> None:
    with write_transaction(engine) as conn:
        conn.execute(update(papers).where(papers.c.pk == pk).values(first_seen_at=when))


def titles(html: str) -> list[str]:
    """Paper titles of a list page, in page order."""
    return re.findall(
        r'<h[23] class="paper-title" id="title-\d+"[^>]*><a href="[^"]+">([^<]+)</a>', html
    )


@pytest.fixture
def client(engine: Engine) -> Iterator[TestClient]:
    with TestClient(create_app()) as client:
        yield client


@pytest.fixture
def day_papers(engine: Engine) -> dict[str, int]:
    """Three papers on DAY (upvotes 5, 0 + 2 own votes... see the test), one hidden, and
    papers on the days around it, with an empty day between."""
    pks = add_papers(
        engine,
        real(0, featured_day=DAY, upvotes=5),
        real(1, featured_day=DAY, upvotes=1),
        real(2, featured_day=DAY, upvotes=0),
        real(3, featured_day=DAY, upvotes=99, title="A hidden paper"),
        real(4, featured_day=DAY - timedelta(days=3)),
        real(5, featured_day=DAY + timedelta(days=2)),
    )
    with write_transaction(engine) as conn:
        conn.execute(
            update(papers)
            .where(papers.c.title == "A hidden paper")
            .values(hidden_at=datetime.now(UTC))
        )
    return pks


def test_day_page_ranks_by_all_upvotes_hides_hidden_and_skips_empty_days(
    engine: Engine, client: TestClient, day_papers: dict[str, int]
) -> None:
    third = real(2).title
    # Seven upvotes on this site lift the paper with none imported to the top.
    with write_transaction(engine) as conn:
        record_activity(conn, day_papers[str(arxiv_rows(60)[2]["id"])], "upvote", 7)
    response = client.get(f"/date/{DAY.isoformat()}")
    assert response.status_code == 200
    assert_security_headers(response)
    html = response.text
    assert titles(html) == [third, real(0).title, real(1).title]
    assert "A hidden paper" not in html
    assert ">7<" in html or ">7</span>" in html  # the upvote count shown is 0 + 7
    prev, nxt = DAY - timedelta(days=3), DAY + timedelta(days=2)
    assert f'href="/date/{prev.isoformat()}" rel="prev"' in html
    assert f'href="/date/{nxt.isoformat()}" rel="next"' in html
    assert 'rel="alternate" type="application/atom+xml" href="/feeds/daily.atom"' in html
    # Each item: the vote button (for a visitor, a link to log in and come back), comments
    # link, paper page link, arXiv link.
    assert html.count('class="vote-button vote-login"') == 3
    assert f'href="/login?next=/date/{DAY.isoformat()}"' in html
    assert f'href="/papers/{real(0).id}#comments">0 comments</a>' in html
    assert f'href="https://arxiv.org/abs/{real(0).id}"' in html
    last = client.get(f"/date/{nxt.isoformat()}").text
    assert 'rel="next"' not in last  # no later day has papers


def test_new_badge_is_rendered_on_the_newest_day_with_each_papers_first_seen_time(
    engine: Engine, client: TestClient, day_papers: dict[str, int]
) -> None:
    # The server renders one rule for everyone (the page stays cacheable): only the newest
    # day's papers are new; static/visits.js applies "since your last visit" in the browser.
    newest = DAY + timedelta(days=2)
    assert client.get(f"/date/{DAY.isoformat()}").text.count('class="badge-new"') == 0
    response = client.get(f"/date/{newest.isoformat()}")
    assert response.text.count('class="badge-new"') == 1
    assert "set-cookie" not in response.headers  # nothing per visitor
    seen = datetime(2026, 5, 4, 12, 0, tzinfo=UTC)
    set_first_seen(engine, day_papers[str(real(0).id)], seen)
    html = client.get(f"/date/{DAY.isoformat()}").text
    assert f'data-first-seen="{int(seen.timestamp())}"' in html
    assert '<script src="/static/visits.js' in html


def test_home_shows_the_latest_day_first_with_its_papers(
    engine: Engine, client: TestClient, day_papers: dict[str, int]
) -> None:
    html = client.get("/").text
    newest = (DAY + timedelta(days=2)).isoformat()
    assert f'<h1>Daily papers <a class="day-link" href="/date/{newest}"><time' in html
    assert "A hidden paper" not in html
    # The day before (the latest earlier day that has papers) is one click back.
    assert f'href="/date/{DAY.isoformat()}" rel="prev"' in html


def test_week_and_month_pages_and_their_neighbours(
    engine: Engine, client: TestClient, day_papers: dict[str, int]
) -> None:
    week = client.get("/week/2026-W19")  # Monday 4 May .. Sunday 10 May 2026
    assert week.status_code == 200
    assert titles(week.text)[0] == real(0).title
    assert len(titles(week.text)) == 4  # DAY's three and DAY + 2; not DAY - 3 (week 18)
    assert 'href="/week/2026-W18" rel="prev"' in week.text
    assert 'href="/week/2026-W20" rel="next"' in week.text
    month = client.get("/month/2026-05")
    assert len(titles(month.text)) == 5 and "A hidden paper" not in month.text
    assert 'href="/month/2026-04" rel="prev"' in month.text
    assert "No papers in this month" in client.get("/month/2019-01").text


def test_a_single_digit_week_moves_to_its_two_digit_address(client: TestClient) -> None:
    short = client.get("/week/2026-W1", follow_redirects=False)
    assert short.status_code == 301
    assert short.headers["location"] == "/week/2026-W01"
    paged = client.get("/week/2026-W9?page=2", follow_redirects=False)
    assert paged.status_code == 301
    assert paged.headers["location"] == "/week/2026-W09?page=2"
    landed = client.get("/week/2026-W1")
    assert landed.status_code == 200 and "Week 2026-W01" in landed.text
    assert client.get("/week/2026-W0", follow_redirects=False).status_code == 404


@pytest.mark.parametrize(
    "path",
    ["/date/2026-02-30", "/date/yesterday", "/week/2026-W60", "/week/2026-19", "/month/2026-13"],
)
def test_bad_dates_get_a_clear_404(client: TestClient, path: str) -> None:
    response = client.get(path)
    assert response.status_code == 404
    assert "look like" in response.text


def test_long_lists_are_paginated(
    engine: Engine, client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(feed_pages, "PER_PAGE", 4)
    add_papers(engine, *[real(i, featured_day=DAY, upvotes=20 - i) for i in range(10)])
    first = client.get(f"/date/{DAY.isoformat()}").text
    assert titles(first) == [real(i).title for i in range(4)]
    assert f'href="/date/{DAY.isoformat()}?page=2" rel="next"' in first
    third = client.get(f"/date/{DAY.isoformat()}?page=3").text
    assert titles(third) == [real(8).title, real(9).title]
    assert '<ol class="papers" start="9">' in third
    assert client.get(f"/date/{DAY.isoformat()}?page=4").status_code == 404
    assert client.get(f"/date/{DAY.isoformat()}?page=0").status_code == 422


def test_voted_state_shows_for_the_signed_in_viewer(
    engine: Engine, client: TestClient, day_papers: dict[str, int]
) -> None:
    with write_transaction(engine) as conn:
        user_pk = conn.execute(
            users.insert()
            .values(
                username="reader",
                email="reader@example.org",
                password_hash="x",
                is_admin=False,
                created_at=datetime.now(UTC),
            )
            .returning(users.c.pk)
        ).scalar_one()
    paper_pk = day_papers[str(real(1).id)]
    set_vote(engine, user_pk, paper_pk, True)
    client.cookies.set(SESSION_COOKIE, start_session(engine, user_pk))
    html = client.get(f"/date/{DAY.isoformat()}").text
    assert html.count('aria-pressed="true"') == 1
    item = next(part for part in html.split('<li class="paper">') if real(1).title in part)
    assert 'aria-pressed="true"' in item and ">2<" in item  # 1 imported + 1 here


def test_trending_ranks_by_stored_score_and_explains_it(engine: Engine, client: TestClient) -> None:
    today = datetime.now(UTC).date()
    pks = add_papers(
        engine,
        real(0, featured_day=today, upvotes=2),
        real(1, featured_day=today, upvotes=0, links=[Link("code", "https://github.com/a/b", 40)]),
        real(2, featured_day=today),
    )
    # Comments count by commenter (a person), so the comment is a real one.
    add_comment(engine, load_user(engine, add_user(engine)), pks[str(real(0).id)], "Nice.")
    with write_transaction(engine) as conn:
        for _ in range(10):
            record_activity(conn, pks[str(real(1).id)], "upvote")
    recompute_trending(engine)
    response = client.get("/trending")
    assert response.status_code == 200
    html = response.text
    assert titles(html) == [real(1).title, real(0).title]  # real(2) has no activity at all
    assert html.count("Why it is trending:") == 2
    assert "10 upvotes" in html and "40 new GitHub stars" in html and "1 comment <" in html
    assert 'href="/feeds/trending.atom"' in html
    api = client.get("/api/trending").json()
    assert [item["id"] for item in api] == [real(1).id, real(0).id]
    assert api[0]["rank"] == 1 and api[0]["score"] > api[1]["score"] > 0
    terms = api[0]["terms"]
    assert terms["upvotes"]["count"] == 10 and terms["stars"]["count"] == 40
    assert sum(t["points"] for t in terms.values()) == pytest.approx(api[0]["score"], abs=0.01)
    assert api[1]["terms"]["comments"]["count"] == 1
    assert api[1]["terms"]["hf_upvotes"]["count"] == 2


def test_empty_trending_says_so(client: TestClient) -> None:
    response = client.get("/trending")
    assert response.status_code == 200 and "Nothing is trending yet" in response.text
    assert client.get("/api/trending").json() == []


def test_paper_page_shows_everything_about_the_paper(engine: Engine, client: TestClient) -> None:
    record = real(
        7,
        featured_day=DAY,
        upvotes=3,
        doi="10.1000/xyz123",
        journal_ref="Journal of Tests 1 (2026)",
        submitter="akhaliq",
        links=[Link("code", "https://github.com/example/code", 12)],
    )
    add_papers(engine, record)
    response = client.get(f"/papers/{record.id}")
    assert response.status_code == 200
    assert_security_headers(response)
    html = response.text
    assert f'<h1 id="paper-title">{record.title}</h1>' in html
    authors = ", ".join(f'<a class="author" href="{author_url(a)}">{a}</a>' for a in record.authors)
    assert authors in html  # every name a link to its author page
    assert record.abstract[:80] in html
    for href in (
        f"https://arxiv.org/abs/{record.id}",
        f"https://arxiv.org/pdf/{record.id}",
        "https://doi.org/10.1000/xyz123",
        "https://github.com/example/code",
        f"/papers/{record.id}.md",
        f"/date/{DAY.isoformat()}",
    ):
        assert f'href="{href}"' in html
    assert "@article{" in html and "Journal of Tests" in html
    assert "akhaliq" in html  # who submitted it
    assert "vote-button" in html and 'id="comments"' in html  # the community part
    assert "Similar papers" in html
    assert 'type="text/markdown"' in html
    page = scan(html)
    assert page.handlers == []


def test_paper_page_lists_similar_papers(engine: Engine, client: TestClient) -> None:
    from paperfeed.search.indexer import update_index
    from tests.search.dense_helpers import CachedEmbedder

    add_papers(engine, *[real(i) for i in range(30)])
    update_index(engine, CachedEmbedder())
    html = client.get(f"/papers/{real(0).id}").text
    links = re.findall(r'<li><a href="/papers/([^"]+)">', html.split("similar-heading")[-1])
    assert len(links) == 8 and real(0).id not in links


def test_unknown_hidden_and_odd_ids(engine: Engine, client: TestClient) -> None:
    pks = add_papers(
        engine,
        PaperRecord(id="cs/0601001", title="An old-style id", abstract="Slash."),
        PaperRecord(id="2401.00009", title="Hidden", abstract="Gone."),
    )
    old = client.get("/papers/cs/0601001")
    assert old.status_code == 200 and "An old-style id" in old.text
    assert client.get("/papers/cs/0601001.md").text.startswith("# An old-style id")
    moved = client.get("/papers/arXiv:cs/0601001v2", follow_redirects=False)
    assert moved.status_code == 301 and moved.headers["location"] == "/papers/cs/0601001"
    missing = client.get("/papers/2999.99999")
    assert missing.status_code == 404
    assert "There is no paper with the id “2999.99999” here." in missing.text
    with write_transaction(engine) as conn:
        conn.execute(
            update(papers)
            .where(papers.c.pk == pks["2401.00009"])
            .values(hidden_at=datetime.now(UTC))
        )
    assert client.get("/papers/2401.00009").status_code == 404
    assert client.get("/papers/2401.00009.md").status_code == 404


def test_markdown_version(engine: Engine, client: TestClient) -> None:
    record = real(3, featured_day=DAY, upvotes=4)
    add_papers(engine, record)
    response = client.get(f"/papers/{record.id}.md")
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/markdown; charset=utf-8"
    text = response.text
    assert text.startswith(f"# {record.title}\n")
    assert f"**Authors:** {', '.join(record.authors)}" in text
    assert "## Abstract" in text and record.abstract in text
    assert f"(<https://arxiv.org/abs/{record.id}>)" in text
    assert "**Upvotes:** 4" in text


def test_views_count_once_per_browser_and_day_and_only_for_navigations(
    engine: Engine, client: TestClient
) -> None:
    record = real(5)
    pk = add_papers(engine, record)[str(record.id)]

    def views() -> int:
        with engine.connect() as conn:
            value = conn.execute(
                select(paper_stats.c.views).where(paper_stats.c.paper_pk == pk)
            ).scalar()
        return int(value or 0)

    client.get(f"/papers/{record.id}")  # a script, a crawler, a test: no Sec-Fetch headers
    client.get(f"/papers/{record.id}", headers={"sec-fetch-mode": "cors"})
    assert views() == 0
    with engine.connect() as conn:
        assert conn.execute(select(paper_activity)).all() == []  # GETs wrote nothing
    counter = client.app.state.view_counter  # type: ignore[attr-defined]
    for _ in range(30):  # one person reloading, no cookies kept: one view
        client.cookies.clear()
        client.get(f"/papers/{record.id}", headers=NAVIGATE)
    assert views() == 0, "views wait in memory: no database write per view"
    counter.flush()
    assert views() == 1
    other_browser = {**NAVIGATE, "user-agent": "another browser"}
    client.get(f"/papers/{record.id}", headers=other_browser)
    counter.flush()
    assert views() == 2


def test_count_views_off_means_no_writes(engine: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PAPERFEED_COUNT_VIEWS", "0")
    from paperfeed import config

    config.get_settings.cache_clear()
    record = real(6)
    add_papers(engine, record)
    with TestClient(create_app()) as client:
        assert client.get(f"/papers/{record.id}", headers=NAVIGATE).status_code == 200
    with engine.connect() as conn:
        assert conn.execute(select(paper_stats)).all() == []


def test_hostile_fields_are_escaped_on_every_page(engine: Engine, client: TestClient) -> None:
    today = datetime.now(UTC).date()
    pks = add_papers(
        engine,
        PaperRecord(
            id="2401.06666",
            title=HOSTILE,
            abstract='"><img src=x onerror=alert(2)>',
            authors=['"><svg onload=alert(4)>'],
            categories=["<b>cs.XX</b>"],
            featured_day=today,
            links=[Link("code", "javascript:alert(5)")],
        ),
    )
    with write_transaction(engine) as conn:
        record_activity(conn, pks["2401.06666"], "upvote")
    for path in ("/", f"/date/{today.isoformat()}", "/trending", "/papers/2401.06666"):
        html = client.get(path).text
        page = scan(html)
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html, path
        assert only_site_scripts(page) and "img" not in page.tags, path
        assert "svg" not in page.tags and page.handlers == [], path
        assert "javascript:" not in " ".join(page.hrefs), path


def test_bibtex_is_valid_and_escapes_braces() -> None:
    from paperfeed.domain import Paper

    paper = Paper(
        id="2401.12345",
        title="Closing {braces} and 100% of $cost$ & #tags_",
        abstract="",
        authors=["Ada Lovelace", "Kurt Gödel"],
        categories=["cs.LG"],
        published=date(2024, 1, 22),
        updated=None,
        versions=[],
        doi=None,
        journal_ref=None,
        comment=None,
        links=[],
        featured_day=None,
        submitter=None,
        upvotes=0,
    )
    text = bibtex(paper)
    assert text.startswith("@misc{lovelace2024closing,\n")
    assert r"\{braces\}" in text and r"100\% of \$cost\$ \& \#tags\_" in text
    assert "eprint = {2401.12345}" in text and "archivePrefix = {arXiv}" in text
    assert text.count("{") - text.count(r"\{") == text.count("}") - text.count(r"\}")
    # paperfeed's own BibTeX reader takes it back.
    items = list(bibtex_format.parse(io.BytesIO(text.encode()), "cite.bib", ParseOptions()))
    assert len(items) == 1 and isinstance(items[0], PaperRecord), items
    assert items[0].id == "2401.12345" and items[0].authors == ["Ada Lovelace", "Kurt Gödel"]
    assert "braces" in items[0].title
    paper.journal_ref = "Nature 1"
    assert bibtex(paper).startswith("@article{") and "journal = {Nature 1}" in bibtex(paper)


def test_trending_follows_the_clock_between_recomputes(engine: Engine, client: TestClient) -> None:
    today = datetime.now(UTC).date()
    pks = add_papers(engine, real(0, featured_day=today), real(1, featured_day=today))
    old, fresh = pks[str(real(0).id)], pks[str(real(1).id)]
    with write_transaction(engine) as conn:
        record_activity(conn, old, "upvote", 10)
        record_activity(conn, fresh, "upvote", 6)
        # The first paper's score was last computed two half-lives ago: 10 then is 2.5 now.
        two_days_ago = datetime.now(UTC) - timedelta(hours=48)
        conn.execute(
            update(paper_stats).where(paper_stats.c.paper_pk == old).values(updated_at=two_days_ago)
        )
    items = client.get("/api/trending").json()
    assert [item["id"] for item in items] == [real(1).id, real(0).id]
    assert items[1]["score"] == pytest.approx(items[1]["terms"]["upvotes"]["points"], abs=0.01)
    assert items[1]["terms"]["upvotes"]["count"] == 10 and "as_of" in items[1]
    # Per upvote, the stale score is worth a quarter of the fresh one (two half-lives).
    assert items[1]["score"] / 10 == pytest.approx(items[0]["score"] / 6 / 4, rel=0.01)
    assert titles(client.get("/trending").text) == [real(1).title, real(0).title]
