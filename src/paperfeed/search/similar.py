"""Similar papers: nearest neighbours of a stored paper, as the CLI, site and API show them."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine, select

from paperfeed.search import vectors
from paperfeed.store.schema import papers


def similar_papers(engine: Engine, paper_id: str, limit: int = 10) -> list[dict[str, Any]]:
    """Up to ``limit`` papers closest in meaning to ``paper_id`` (LookupError if unknown).

    An empty list means the paper is known but not embedded yet (`paperfeed index`).
    """
    with engine.connect() as conn:
        if conn.execute(select(papers.c.pk).where(papers.c.id == paper_id)).first() is None:
            raise LookupError(f"no paper with id {paper_id!r}")
        hits = vectors.similar(conn, paper_id, max(1, min(limit, 100)))
        rows = conn.execute(
            select(papers.c.pk, papers.c.id, papers.c.title).where(
                papers.c.pk.in_([h.pk for h in hits])
            )
        ).all()
    by_pk = {row.pk: row for row in rows}
    return [
        {"id": by_pk[h.pk].id, "title": by_pk[h.pk].title, "score": round(h.score, 4)}
        for h in hits
        if h.pk in by_pk
    ]
