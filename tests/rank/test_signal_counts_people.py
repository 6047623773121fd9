"""RELIABILITY 23: a loop of anonymous views, repeated comments or vote toggles moves a paper's
trending score by at most one person's worth; views are counted without a write per request.
Both backends."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine, select, update

from paperfeed.community import comments as comment_store
from paperfeed.community.views import ViewCounter, visitor_key, write_views
from paperfeed.community.votes import set_vote
from paperfeed.rank.trending import decay
from paperfeed.store.community_schema import comments, paper_activity, paper_stats, vote_firsts
from paperfeed.store.engine import write_transaction
from tests.factories import add_paper, add_user, load_user, signed_in

NAVIGATE = {"sec-fetch-mode": "navigate", "sec-fetch-dest": "document", "sec-fetch-site": "none"}
# One person's worth of each kind, at the default weights and today (no decay yet).
ONE_VIEW, ONE_COMMENTER, ONE_UPVOTE = 0.05, 2.0, 1.0


def score(engine: Engine, pk: int) -> float:
    with engine.connect() as conn:
        found = conn.execute(
            select(paper_stats.c.trending_score).where(paper_stats.c.paper_pk == pk)
        ).scalar()
    return float(found or 0.0)


def aged(moment: datetime) -> float:
    """What one unit of activity on ``moment``'s day is worth now (a week: about 0.5 ** 7)."""
    return decay(moment.date(), datetime.now(UTC), 24.0)


def test_a_loop_of_anonymous_views_is_one_view(engine: Engine) -> None:
    pk = add_paper(engine, "2401.10001")
    client = signed_in(engine, add_user(engine))  # a session, then dropped: anonymous loops
    client.cookies.clear()
    with client:
        counter: ViewCounter = client.app.state.view_counter  # type: ignore[attr-defined]
        for _ in range(120):
            client.cookies.clear()  # a script that keeps no cookies
            assert client.get("/papers/2401.10001", headers=NAVIGATE).status_code == 200
        with engine.connect() as conn:  # nothing written yet: views wait in memory
            assert conn.execute(select(paper_activity)).all() == []
        counter.flush()
        assert score(engine, pk) == pytest.approx(ONE_VIEW)
        # Another browser on the same address is another person (a shared office, a family).
        client.get("/papers/2401.10001", headers={**NAVIGATE, "user-agent": "Firefox/140"})
    # Leaving the app (a clean shutdown) writes what was still waiting.
    assert score(engine, pk) == pytest.approx(2 * ONE_VIEW)


def test_views_count_once_per_person_across_batches_and_counters(engine: Engine) -> None:
    pk = add_paper(engine, "2401.10002")
    day = datetime.now(UTC).date()
    person = visitor_key("k", day, user_pk=None, address="203.0.113.9", user_agent="UA")
    assert "203.0.113.9" not in person and "UA" not in person and len(person) == 32
    assert person != visitor_key("k", day + timedelta(days=1), user_pk=None,
                                 address="203.0.113.9", user_agent="UA")  # fmt: skip
    assert person != visitor_key("other key", day, user_pk=None,
                                 address="203.0.113.9", user_agent="UA")  # fmt: skip
    first, second = ViewCounter(engine, batch=3), ViewCounter(engine, batch=3)  # two servers
    for counter in (first, second, first):
        counter.add(pk, person, day)
        counter.flush()
    assert score(engine, pk) == pytest.approx(ONE_VIEW)
    signed = visitor_key("k", day, user_pk=7, address="198.51.100.1", user_agent="UA")
    assert write_views(engine, [(pk, day, signed), (pk, day, signed), (pk, day, person)]) == 1
    assert score(engine, pk) == pytest.approx(2 * ONE_VIEW)


def test_views_flush_by_batch_and_a_crash_loses_only_the_waiting_ones(engine: Engine) -> None:
    pk = add_paper(engine, "2401.10003")
    day = datetime.now(UTC).date()
    counter = ViewCounter(engine, batch=4, seconds=3600)
    for n in range(3):
        counter.add(pk, f"{n:032x}", day)
    assert counter.pending == 3 and score(engine, pk) == 0  # below the batch: memory only
    counter.add(pk, f"{3:032x}", day)  # the fourth fills the batch: one transaction
    assert counter.pending == 0 and score(engine, pk) == pytest.approx(4 * ONE_VIEW)
    counter.add(pk, f"{4:032x}", day)
    del counter  # a crash: the one waiting view is lost, the written ones stay
    assert score(engine, pk) == pytest.approx(4 * ONE_VIEW)


def test_repeated_comments_count_each_commenter_once(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    pk = add_paper(engine, "2401.10004")
    alice, bob = (load_user(engine, add_user(engine, name)) for name in ("alice", "bob"))
    posted = 0
    with pytest.raises(comment_store.CommentRateLimited) as limited:
        for n in range(50):
            comment_store.add_comment(engine, alice, pk, f"comment {n}")
            posted += 1
    assert posted == 10 and 0 < limited.value.retry_after <= 600  # COMMENT_BURST, 10 minutes
    for n in range(5):
        comment_store.add_comment(engine, bob, pk, f"reply {n}")
    assert score(engine, pk) == pytest.approx(2 * ONE_COMMENTER)
    # Deleting every comment but one keeps the person; deleting all of them removes them.
    mine = [c for c in comment_store.list_comments(engine, pk) if c.author == "bob"]
    for comment in mine:
        comment_store.delete_comment(engine, bob, comment.pk)
    assert score(engine, pk) == pytest.approx(ONE_COMMENTER)


def test_a_new_comment_after_deleting_does_not_refresh_an_old_commenter(
    engine: Engine,
) -> None:
    pk = add_paper(engine, "2401.10005")
    carol = load_user(engine, add_user(engine, "carol"))
    first = comment_store.add_comment(engine, carol, pk, "early thoughts")

    week_ago = datetime.now(UTC) - timedelta(days=7)
    with write_transaction(engine) as conn:
        conn.execute(update(comments).where(comments.c.pk == first).values(created_at=week_ago))
    comment_store.delete_comment(engine, carol, first)
    comment_store.add_comment(engine, carol, pk, "the same thoughts, posted again today")
    # Counted on the day of her first comment: a week of decay, not a fresh comment.
    assert score(engine, pk) == pytest.approx(ONE_COMMENTER * aged(week_ago), rel=0.01)


def test_vote_toggles_cannot_be_replayed_for_points(engine: Engine) -> None:
    pk = add_paper(engine, "2401.10006")
    dave = add_user(engine, "dave")
    for _ in range(51):  # ends upvoted
        set_vote(engine, dave, pk)
    assert score(engine, pk) == pytest.approx(ONE_UPVOTE)
    # A vote first cast a week ago, withdrawn and cast again today, still counts a week ago.
    week_ago = datetime.now(UTC) - timedelta(days=7)
    with write_transaction(engine) as conn:
        conn.execute(update(vote_firsts).values(first_voted_at=week_ago))
        conn.execute(update(paper_activity).values(day=week_ago.date()))
    set_vote(engine, dave, pk, want=False)
    set_vote(engine, dave, pk, want=True)
    assert score(engine, pk) == pytest.approx(ONE_UPVOTE * aged(week_ago), rel=0.01)
