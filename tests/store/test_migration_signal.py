"""Migration 0010: papers stored without a date get their arXiv id's month, votes cast before
it keep their day in ``vote_firsts``. Both backends."""

from __future__ import annotations

from datetime import UTC, date, datetime

from sqlalchemy import Engine, insert, select

from paperfeed.ingest.ids import month_of_arxiv_id
from paperfeed.store import migrate
from paperfeed.store.community_schema import users, vote_firsts, votes
from paperfeed.store.engine import make_engine
from paperfeed.store.schema import papers

NOW = datetime(2026, 3, 5, 9, tzinfo=UTC)


def _paper(pk: int, paper_id: str, published: date | None) -> dict[str, object]:
    return {"pk": pk, "id": paper_id, "title": paper_id, "abstract": "", "title_key": paper_id,
            "published": published, "external_upvotes": 0, "first_seen_at": NOW,
            "updated_at": NOW, "content_hash": "0" * 32}  # fmt: skip


def test_0010_dates_papers_by_their_id_and_keeps_first_vote_days(database_url: str) -> None:
    engine: Engine = make_engine(database_url)
    migrate.upgrade(engine, "0007")
    rows = [
        _paper(1, "2401.12345", None),
        _paper(2, "hep-th/9901001", None),
        _paper(3, "2402.00001", date(2024, 2, 20)),  # a real date is kept
        _paper(4, "pf-0123456789abcdef", None),  # no arXiv id: nothing to go by
    ]
    with engine.begin() as conn:
        conn.execute(insert(papers), rows)
        user = {"pk": 1, "username": "u", "email": "u@example.org", "password_hash": "x"}
        conn.execute(insert(users).values(**user, is_admin=False, created_at=NOW))
        conn.execute(insert(votes).values(user_pk=1, paper_pk=1, created_at=NOW))
    migrate.upgrade(engine)
    with engine.connect() as conn:
        found = dict(conn.execute(select(papers.c.id, papers.c.published)).all())
        first = conn.execute(select(vote_firsts.c.first_voted_at)).scalar_one()
    assert found == {
        "2401.12345": date(2024, 1, 1),
        "hep-th/9901001": date(1999, 1, 1),
        "2402.00001": date(2024, 2, 20),
        "pf-0123456789abcdef": None,
    }
    assert {pid: month_of_arxiv_id(pid) for pid, day in found.items() if day} == {
        "2401.12345": date(2024, 1, 1),
        "hep-th/9901001": date(1999, 1, 1),
        "2402.00001": date(2024, 2, 1),
    }
    assert first.replace(tzinfo=UTC) == NOW
    engine.dispose()
