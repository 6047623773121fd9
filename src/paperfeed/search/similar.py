"""Similar papers: nearest neighbours of a stored paper, as the CLI, site and API show them."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine, select

from paperfeed.ingest.ids import id_spellings
from paperfeed.search import vectors
from paperfeed.search.limits import MAX_SIMILAR
from paperfeed.store.schema import papers


def similar_papers(engine: Engine, paper_id: str, limit: int = 10) -> list[dict[str, Any]]:
    """Up to ``limit`` papers closest in meaning to ``paper_id`` (any spelling of an arXiv id),
    hidden papers left out; LookupError if the paper is unknown or hidden.

    An empty list means the paper is known but not embedded yet (`paperfeed index`).
    """
    limit = max(1, min(limit, MAX_SIMILAR))
    with engine.connect() as conn:
        query = select(papers.c.id, papers.c.hidden_at).where(
            papers.c.id.in_(id_spellings(paper_id))
        )
        target = conn.execute(query).first()
        if target is None or target.hidden_at is not None:
            raise LookupError(f"no paper with id {paper_id!r}")
        # A few more than asked for, to make up for hidden ones.
        hits = vectors.similar(conn, target.id, limit + 8)
        rows = conn.execute(
            select(papers.c.pk, papers.c.id, papers.c.title).where(
                papers.c.pk.in_([h.pk for h in hits]), papers.c.hidden_at.is_(None)
            )
        ).all()
    by_pk = {row.pk: row for row in rows}
    found = [
        {"id": by_pk[h.pk].id, "title": by_pk[h.pk].title, "score": round(h.score, 4)}
        for h in hits
        if h.pk in by_pk
    ]
    return found[:limit]
