"""Migration 0011: the AI summary and keywords columns are added to stored papers (empty) and
removed again on downgrade, the papers kept. Both backends."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import Engine, insert, inspect, select, update

from paperfeed.store import migrate
from paperfeed.store.engine import make_engine
from paperfeed.store.papers import get_paper
from paperfeed.store.schema import papers

NOW = datetime(2026, 3, 5, 9, tzinfo=UTC)
ROW = {"pk": 1, "id": "2401.12345", "title": "A title", "abstract": "Text.", "title_key": "a",
       "external_upvotes": 3, "first_seen_at": NOW, "updated_at": NOW,
       "content_hash": "0" * 32}  # fmt: skip


def _columns(engine: Engine) -> set[str]:
    with engine.connect() as conn:
        return {c["name"] for c in inspect(conn).get_columns("papers")}


def test_0011_adds_empty_ai_columns_and_downgrade_drops_them(database_url: str) -> None:
    engine = make_engine(database_url)
    migrate.upgrade(engine, "0010")
    with engine.begin() as conn:
        conn.execute(insert(papers).values(ROW))
    assert not {"ai_summary", "ai_keywords"} & _columns(engine)
    migrate.upgrade(engine)
    with engine.begin() as conn:
        before = get_paper(conn, ROW["id"])
        assert before is not None and before.upvotes == 3
        assert (before.ai_summary, before.ai_keywords) == (None, [])
        values = {"ai_summary": "S.", "ai_keywords": '["a", "b"]'}
        conn.execute(update(papers).where(papers.c.pk == 1).values(values))
        after = get_paper(conn, ROW["id"])
    assert after is not None and (after.ai_summary, after.ai_keywords) == ("S.", ["a", "b"])
    migrate.downgrade(engine, "0010")
    assert not {"ai_summary", "ai_keywords"} & _columns(engine)
    with engine.connect() as conn:
        assert conn.execute(select(papers.c.title)).scalar_one() == "A title"
    engine.dispose()
