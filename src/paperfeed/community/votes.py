"""Upvotes: one per user and paper, toggled in one write transaction with the trending inputs."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import Connection, Engine, select

from paperfeed.store.community_schema import votes


def voted_paper_pks(engine: Engine, user_pk: int | None, paper_pks: Sequence[int]) -> set[int]:
    """Which of ``paper_pks`` the user ``user_pk`` has upvoted (none for an anonymous viewer)."""
    if user_pk is None or not paper_pks:
        return set()
    with engine.connect() as conn:
        return voted_in(conn, user_pk, paper_pks)


def voted_in(conn: Connection, user_pk: int, paper_pks: Sequence[int]) -> set[int]:
    wanted = list(dict.fromkeys(paper_pks))
    found: set[int] = set()
    for start in range(0, len(wanted), 500):  # bounded IN lists on both backends
        chunk = wanted[start : start + 500]
        query = select(votes.c.paper_pk).where(
            votes.c.user_pk == user_pk, votes.c.paper_pk.in_(chunk)
        )
        found.update(conn.execute(query).scalars())
    return found
