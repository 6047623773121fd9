"""Upvotes: the interface the pages use, toggling, counts and the upvote routes."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import Engine

from paperfeed.community.votes import voted_paper_pks
from paperfeed.store.community_schema import votes
from paperfeed.store.engine import write_transaction
from tests.web.test_community_helpers import add_paper, add_user


def test_voted_paper_pks_names_only_the_viewers_votes(engine: Engine) -> None:
    alice, bob = add_user(engine), add_user(engine)
    first, second = add_paper(engine, "2401.00001"), add_paper(engine, "2401.00002")
    with write_transaction(engine) as conn:
        conn.execute(
            votes.insert().values(user_pk=alice, paper_pk=first, created_at=datetime.now(UTC))
        )
    assert voted_paper_pks(engine, alice, [first, second]) == {first}
    assert voted_paper_pks(engine, bob, [first, second]) == set()
    assert voted_paper_pks(engine, None, [first, second]) == set()
    assert voted_paper_pks(engine, alice, []) == set()
