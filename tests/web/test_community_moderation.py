"""Moderation: feature, hide and unhide papers and comments, suspend accounts; every action
logged; /admin lists flagged comments and the log; 403 for everyone but administrators."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import Engine, select

from paperfeed.community import comments as comment_store
from paperfeed.community import moderation
from paperfeed.community.sessions import session_user, start_session
from paperfeed.store.community_schema import comments, moderation_log, sessions, users
from paperfeed.store.schema import papers
from tests.factories import add_paper, add_user, form_token, load_user, signed_in


def _log(engine: Engine) -> list[tuple[str, str, str]]:
    query = select(moderation_log.c.action, moderation_log.c.target_kind, moderation_log.c.target)
    with engine.connect() as conn:
        return [tuple(row) for row in conn.execute(query.order_by(moderation_log.c.pk))]


def test_actions_change_the_data_and_are_logged(engine: Engine) -> None:
    admin = load_user(engine, add_user(engine, "root", admin=True))
    author = load_user(engine, add_user(engine, "troll"))
    paper = add_paper(engine, "2401.12345")
    comment = comment_store.add_comment(engine, author, paper, "rude words")
    troll_token = start_session(engine, author.pk)

    moderation.feature_paper(engine, admin, "2401.12345", date(2026, 6, 1))
    moderation.set_paper_hidden(engine, admin, "2401.12345", True, "spam")
    moderation.set_comment_hidden(engine, admin, comment, True)
    moderation.set_user_suspended(engine, admin, "troll", True, "abuse")
    with engine.connect() as conn:
        row = conn.execute(select(papers).where(papers.c.pk == paper)).one()
        assert row.featured_day == date(2026, 6, 1) and row.hidden_at is not None
        hidden = conn.execute(select(comments.c.hidden_at).where(comments.c.pk == comment))
        assert hidden.scalar() is not None
        suspended = conn.execute(select(users.c.suspended_at).where(users.c.pk == author.pk))
        assert suspended.scalar() is not None
        left = conn.execute(select(sessions).where(sessions.c.user_pk == author.pk)).all()
        assert left == []  # suspension ends every session
    assert session_user(engine, troll_token) is None
    (view,) = comment_store.list_comments(engine, paper)
    assert view.hidden and "rude" not in str(view.html)
    (admin_view,) = comment_store.list_comments(engine, paper, admin)
    assert "rude words" in str(admin_view.html)

    moderation.set_paper_hidden(engine, admin, "2401.12345", False)
    moderation.set_comment_hidden(engine, admin, comment, False)
    moderation.set_user_suspended(engine, admin, "troll", False)
    assert _log(engine) == [
        ("feature", "paper", "2401.12345"),
        ("hide", "paper", "2401.12345"),
        ("hide", "comment", str(comment)),
        ("suspend", "user", "troll"),
        ("unhide", "paper", "2401.12345"),
        ("unhide", "comment", str(comment)),
        ("unsuspend", "user", "troll"),
    ]
    entries = moderation.moderation_log_entries(engine)
    assert {entry.actor for entry in entries} == {"root"}
    assert entries[-1].detail == "2026-06-01"  # newest first: the feature action is last


def test_non_admins_cannot_moderate(engine: Engine) -> None:
    user = load_user(engine, add_user(engine))
    add_paper(engine, "2401.12345")
    with pytest.raises(moderation.NotAdmin):
        moderation.set_paper_hidden(engine, user, "2401.12345", True)
    with pytest.raises(moderation.ModerationError, match="no paper"):
        admin = load_user(engine, add_user(engine, admin=True))
        moderation.set_paper_hidden(engine, admin, "2401.99999", True)
    assert _log(engine) == []


def test_admin_page_and_routes(engine: Engine) -> None:
    admin = add_user(engine, "root", admin=True)
    author = load_user(engine, add_user(engine, "writer"))
    flagger = load_user(engine, add_user(engine, "reader"))
    paper = add_paper(engine, "2401.12345", title="Flag Target Paper")
    comment = comment_store.add_comment(engine, author, paper, "<b>questionable</b>")
    comment_store.flag_comment(engine, flagger, comment, "off-topic <script>")
    with signed_in(engine, admin) as client:
        page = client.get("/admin")
        assert page.status_code == 200
        assert "Flag Target Paper" in page.text and "off-topic &lt;script&gt;" in page.text
        token = form_token(client, "/admin")
        assert client.post("/admin/papers/hide", data={"paper_id": "2401.12345"}).status_code == 403
        actions = [
            ("/admin/papers/feature", {"paper_id": "2401.12345", "day": "2026-07-04"}),
            ("/admin/papers/hide", {"paper_id": "2401.12345", "hidden": "1"}),
            (f"/admin/comments/{comment}/hide", {"hidden": "1", "next": "/papers/2401.12345"}),
            ("/admin/users/suspend", {"username": "writer", "suspended": "1"}),
        ]
        for path, data in actions:
            response = client.post(path, data={**data, "csrf_token": token}, follow_redirects=False)
            assert response.status_code == 303, (path, response.text)
        assert response.headers["location"] == "/admin"
        bad_day = client.post(
            "/admin/papers/feature",
            data={"paper_id": "2401.12345", "day": "someday", "csrf_token": token},
        )
        assert bad_day.status_code == 400 and "YYYY-MM-DD" in bad_day.text
        missing = client.post(
            "/admin/users/suspend", data={"username": "nobody", "csrf_token": token}
        )
        assert missing.status_code == 400
        log_page = client.get("/admin").text
        for action in ("feature", "hide", "suspend"):
            assert f"<td>{action}</td>" in log_page
    assert [entry[0] for entry in _log(engine)] == ["feature", "hide", "hide", "suspend"]
    with signed_in(engine, flagger.pk) as client:
        token = form_token(client)
        assert client.get("/admin").status_code == 403
        forbidden = client.post(
            "/admin/papers/hide", data={"paper_id": "2401.12345", "csrf_token": token}
        )
        assert forbidden.status_code == 403
    assert len(_log(engine)) == 4


def test_hidden_paper_is_gone_for_visitors_but_not_for_admins(engine: Engine) -> None:
    admin = load_user(engine, add_user(engine, admin=True))
    add_paper(engine, "2401.12345")
    moderation.set_paper_hidden(engine, admin, "2401.12345", True)
    with signed_in(engine, add_user(engine)) as client:
        token = form_token(client)
        assert (
            client.post("/papers/2401.12345/upvote", data={"csrf_token": token}).status_code == 404
        )
        assert client.get("/api/papers/2401.12345/comments").status_code == 404
    with signed_in(engine, admin.pk) as client:
        assert client.get("/api/papers/2401.12345/comments").status_code == 200
        # The paper's page: an admin sees it, marked hidden, with the button to unhide it.
        page = client.get("/papers/2401.12345")
        assert page.status_code == 200 and "hidden from the site by the moderators" in page.text
        assert "Unhide this paper" in page.text
    with signed_in(engine, add_user(engine)) as client:
        assert client.get("/papers/2401.12345").status_code == 404
