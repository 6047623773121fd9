"""Upvotes: the interface the pages use, toggling, counts, concurrency and the upvote routes."""

from __future__ import annotations

import threading
from datetime import UTC, datetime

from sqlalchemy import Engine, func, select, update

from paperfeed.community.votes import set_vote, voted_paper_pks
from paperfeed.store.community_schema import paper_activity, paper_stats, votes
from paperfeed.store.engine import write_transaction
from paperfeed.store.schema import papers
from tests.factories import add_paper, add_user, anonymous, form_token, signed_in


def _vote_rows(engine: Engine, paper_pk: int) -> int:
    with engine.connect() as conn:
        query = select(func.count()).where(votes.c.paper_pk == paper_pk)
        return int(conn.execute(query).scalar_one())


def _stats_upvotes(engine: Engine, paper_pk: int) -> int:
    with engine.connect() as conn:
        query = select(paper_stats.c.upvotes).where(paper_stats.c.paper_pk == paper_pk)
        return int(conn.execute(query).scalar() or 0)


def test_voted_paper_pks_names_only_the_viewers_votes(engine: Engine) -> None:
    alice, bob = add_user(engine), add_user(engine)
    first, second = add_paper(engine, "2401.00001"), add_paper(engine, "2401.00002")
    with write_transaction(engine) as conn:
        row = {"user_pk": alice, "paper_pk": first, "created_at": datetime.now(UTC)}
        conn.execute(votes.insert().values(row))
    assert voted_paper_pks(engine, alice, [first, second]) == {first}
    assert voted_paper_pks(engine, bob, [first, second]) == set()
    assert voted_paper_pks(engine, None, [first, second]) == set()
    assert voted_paper_pks(engine, alice, []) == set()


def test_toggle_counts_one_vote_per_user_on_top_of_imported_upvotes(engine: Engine) -> None:
    alice, bob = add_user(engine), add_user(engine)
    paper = add_paper(engine)
    with write_transaction(engine) as conn:
        conn.execute(update(papers).where(papers.c.pk == paper).values(external_upvotes=10))
    assert set_vote(engine, alice, paper).upvotes == 11
    assert set_vote(engine, alice, paper, True).upvotes == 11  # explicit: still one vote
    state = set_vote(engine, bob, paper)
    assert (state.voted, state.upvotes) == (True, 12)
    state = set_vote(engine, alice, paper)  # toggle off
    assert (state.voted, state.upvotes) == (False, 11)
    assert set_vote(engine, alice, paper, False).upvotes == 11  # explicit un-vote: no change
    assert _vote_rows(engine, paper) == 1 and _stats_upvotes(engine, paper) == 1
    assert voted_paper_pks(engine, bob, [paper]) == {paper}
    with engine.connect() as conn:  # trending's input was recorded in the same transaction
        query = select(paper_activity.c.count).where(
            paper_activity.c.paper_pk == paper, paper_activity.c.kind == "upvote"
        )
        assert conn.execute(query).scalar() == 1


def test_concurrent_votes_are_never_counted_twice(engine: Engine) -> None:
    paper = add_paper(engine)
    users = [add_user(engine) for _ in range(6)]
    same = users[0]
    # Two requests of one user at once (two tabs), and five other users at the same moment.
    jobs = [(same, True), (same, True), *[(pk, None) for pk in users[1:]]]
    barrier = threading.Barrier(len(jobs))
    errors: list[BaseException] = []

    def run(user_pk: int, want: bool | None) -> None:
        try:
            barrier.wait()
            set_vote(engine, user_pk, paper, want)
        except BaseException as error:
            errors.append(error)

    threads = [threading.Thread(target=run, args=job) for job in jobs]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    assert _vote_rows(engine, paper) == 6
    assert _stats_upvotes(engine, paper) == 6
    # And two toggles of one user at once end consistent: the count matches the rows.
    barrier = threading.Barrier(2)
    threads = [threading.Thread(target=run, args=(same, None)) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    assert _stats_upvotes(engine, paper) == _vote_rows(engine, paper)


def test_upvote_form_redirects_back_and_htmx_gets_the_fragment(engine: Engine) -> None:
    paper = add_paper(engine, "2401.12345")
    with signed_in(engine, add_user(engine)) as client:
        token = form_token(client)
        response = client.post(
            "/papers/2401.12345/upvote",
            data={"csrf_token": token, "next": "/?page=2"},
            follow_redirects=False,
        )
        assert response.status_code == 303
        assert response.headers["location"] == "/?page=2"
        assert _vote_rows(engine, paper) == 1
        # A Referer from this site is the fallback; another site's or "//host" never is.
        response = client.post(
            "/papers/2401.12345/upvote",
            data={"csrf_token": token, "next": "//evil.test/x"},
            headers={"Referer": "https://evil.test/page"},
            follow_redirects=False,
        )
        assert response.headers["location"] == "/papers/2401.12345"
        response = client.post(
            "/papers/2401.12345/upvote",
            data={"csrf_token": token},
            headers={"Referer": "https://testserver/trending"},
            follow_redirects=False,
        )
        assert response.headers["location"] == "/trending"
        fragment = client.post(
            "/papers/arXiv:2401.12345v2/upvote",
            data={"csrf_token": token, "next": "/trending"},
            headers={"HX-Request": "true"},
        )
        assert fragment.status_code == 200
        html = fragment.text
        assert html.lstrip().startswith("<form") and "<html" not in html
        assert 'hx-post="/papers/2401.12345/upvote"' in html
        assert 'aria-pressed="false"' in html  # three toggles in all: voted, unvoted, voted...
        assert '<span class="vote-count">0</span>' in html
        assert 'name="next" value="/trending"' in html


def test_anonymous_upvote_goes_to_login_and_csrf_is_required(engine: Engine) -> None:
    paper = add_paper(engine, "2401.12345")
    with anonymous() as anon:
        response = anon.post("/papers/2401.12345/upvote", follow_redirects=False)
        assert response.status_code == 303
        assert response.headers["location"].startswith("/login?next=%2Fpapers%2F2401.12345")
        response = anon.post("/papers/2401.12345/upvote", headers={"HX-Request": "true"})
        assert response.status_code == 401
        assert response.headers["hx-redirect"].startswith("/login?next=")
    with signed_in(engine, add_user(engine)) as client:
        token = form_token(client)
        assert client.post("/papers/2401.12345/upvote", data={}).status_code == 403
        cross = client.post(
            "/papers/2401.12345/upvote",
            data={"csrf_token": token},
            headers={"Origin": "http://evil.test"},
        )
        assert cross.status_code == 403
        sites = {"csrf_token": token}
        fetch_site = client.post(
            "/papers/2401.12345/upvote", data=sites, headers={"Sec-Fetch-Site": "cross-site"}
        )
        assert fetch_site.status_code == 403
        assert client.post("/papers/2401.99999/upvote", data=sites).status_code == 404
    assert _vote_rows(engine, paper) == 0


def test_vote_buttons_on_a_list_page_return_to_that_page(engine: Engine) -> None:
    add_paper(engine, "2401.12345", title="Listed paper")
    with signed_in(engine, add_user(engine)) as client:
        html = client.get("/date/2026-05-04?ref=x").text
        assert 'action="/papers/2401.12345/upvote"' in html
        assert 'name="next" value="/date/2026-05-04?ref=x"' in html
