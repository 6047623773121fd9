"""Upvotes: one per user and paper, toggled in one write transaction with the trending inputs."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime

from sqlalchemy import Connection, Engine, Insert, Table, delete, select
from sqlalchemy.dialects import postgresql, sqlite

from paperfeed.rank.trending import record_activity
from paperfeed.store.community_schema import paper_stats, vote_firsts, votes
from paperfeed.store.engine import write_transaction
from paperfeed.store.schema import papers


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


@dataclass(frozen=True, slots=True)
class VoteState:
    """After a vote: whether the user now upvotes the paper, and its displayed upvotes."""

    voted: bool
    upvotes: int


def set_vote(engine: Engine, user_pk: int, paper_pk: int, want: bool | None = None) -> VoteState:
    """Upvote (``want=True``), take the upvote back (``False``) or toggle (``None``).

    One write transaction: the vote row, and trending's inputs through ``record_activity``.
    The row's primary key makes a second vote impossible; each step counts only the rows it
    really changed, so two requests at once (two tabs, two servers) never count a vote twice.
    A vote counts on the day the account first upvoted the paper (``vote_firsts``), whenever
    it is cast or withdrawn, so toggling cannot replay an old vote as a fresh one.
    """
    with write_transaction(engine) as conn:
        change = 0
        if want is not True:
            mine = (votes.c.user_pk == user_pk) & (votes.c.paper_pk == paper_pk)
            removed = conn.execute(delete(votes).where(mine).returning(votes.c.paper_pk)).first()
            change = -1 if removed else 0
        if want is True or (want is None and change == 0):
            row = {"user_pk": user_pk, "paper_pk": paper_pk, "created_at": datetime.now(UTC)}
            insert = insert_ignoring_duplicates(conn, votes).values(row)
            added = conn.execute(insert.returning(votes.c.paper_pk)).first()
            change = 1 if added else 0
        if change:
            day = _first_vote_day(conn, user_pk, paper_pk)
            record_activity(conn, paper_pk, "upvote", change, day=day)
        voted = bool(voted_in(conn, user_pk, [paper_pk]))
        return VoteState(voted, displayed_upvotes(conn, paper_pk))


def _first_vote_day(conn: Connection, user_pk: int, paper_pk: int) -> date:
    """The day ``user_pk`` first upvoted ``paper_pk``; recorded as today if never before."""
    row = {"user_pk": user_pk, "paper_pk": paper_pk, "first_voted_at": datetime.now(UTC)}
    conn.execute(insert_ignoring_duplicates(conn, vote_firsts).values(row))
    mine = (vote_firsts.c.user_pk == user_pk) & (vote_firsts.c.paper_pk == paper_pk)
    first: datetime = conn.execute(select(vote_firsts.c.first_voted_at).where(mine)).scalar_one()
    return first.date()


def displayed_upvotes(conn: Connection, paper_pk: int) -> int:
    """Upvotes imported from Hugging Face plus this site's own."""
    external = conn.execute(
        select(papers.c.external_upvotes).where(papers.c.pk == paper_pk)
    ).scalar()
    own = conn.execute(
        select(paper_stats.c.upvotes).where(paper_stats.c.paper_pk == paper_pk)
    ).scalar()
    return int(external or 0) + int(own or 0)


def insert_ignoring_duplicates(conn: Connection, table: Table) -> Insert:
    """INSERT ... ON CONFLICT DO NOTHING on either backend. Add RETURNING to learn whether it
    wrote: PostgreSQL's driver here reports no rowcount."""
    if conn.dialect.name == "postgresql":
        return postgresql.insert(table).on_conflict_do_nothing()
    return sqlite.insert(table).on_conflict_do_nothing()
