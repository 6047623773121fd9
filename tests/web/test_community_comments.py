"""Comments: safe Markdown (RELIABILITY 13), length limit, edit and delete only your own,
soft delete, flags, and the comment routes' CSRF checks."""

from __future__ import annotations

import json
from typing import Any

import pytest
from bs4 import BeautifulSoup
from sqlalchemy import Engine, select
from starlette.requests import Request

from paperfeed.community import comments as store
from paperfeed.community.markdown import render_markdown
from paperfeed.community.paper_context import community_context
from paperfeed.community.users import User
from paperfeed.store.community_schema import comment_flags, comments, paper_activity
from paperfeed.web.app import create_app
from tests.factories import add_paper, add_user, anonymous, form_token, load_user, signed_in

HOSTILE = [
    "<script>alert(1)</script>",
    '"><img src=x onerror=alert(2)>',
    '[click](javascript:alert(3)) and <a href="javascript:alert(4)">raw</a>',
    "[rel](/relative) [proto](//evil.test/x) [data](data:text/html,hi) [vb](vbscript:x)",
    '<svg onload=alert(5)></svg> <iframe src="https://evil.test"></iframe>',
    "[ok](https://example.org/a?b=c) and <https://example.org/auto>",
    '<a href="https://x.test" onclick="alert(6)">x</a> <div style="x:expression(1)">s</div>',
]


def assert_safe(html: str, data_selector: str | None = None) -> BeautifulSoup:
    """No script or embedding elements, no on* or style attributes, only http(s) links (in
    the parts that show data, ``data_selector``, when the page has its own relative links)."""
    soup = BeautifulSoup(html, "html.parser")
    for tag in ("img", "iframe", "svg", "object", "embed", "style"):
        assert soup.find(tag) is None, tag
    for script in soup.find_all("script"):  # only the site's own files, never inline code
        if script.get("type") == "application/ld+json":  # data, never run (JSON-LD)
            json.loads(script.string or "")
            continue
        assert str(script.get("src", "")).startswith("/static/"), script
    for element in soup.find_all(True):
        for name in element.attrs:
            assert not name.lower().startswith("on"), (element, name)
            assert name.lower() != "style", element
    parts = soup.select(data_selector) if data_selector else [soup]
    for link in (link for part in parts for link in part.find_all(href=True)):
        assert str(link["href"]).lower().startswith(("http://", "https://")), link
    return soup


def render_community(engine: Engine, paper_pk: int, paper_id: str, viewer: User | None) -> str:
    """``_community.html`` as the paper page includes it."""
    app = create_app()
    scope: dict[str, Any] = {
        "type": "http",
        "app": app,
        "method": "GET",
        "scheme": "https",
        "server": ("testserver", 443),
        "path": f"/papers/{paper_id}",
        "root_path": "",
        "query_string": b"",
        "headers": [],
    }
    request = Request(scope)
    context = community_context(engine, paper_pk, viewer)
    template = app.state.templates.get_template("_community.html")
    paper = {"featured_day": None}
    return template.render(request=request, paper=paper, paper_id=paper_id, **context)


@pytest.mark.parametrize("body", HOSTILE)
def test_markdown_renderer_keeps_no_script_handler_or_foreign_link(body: str) -> None:
    soup = assert_safe(str(render_markdown(body)))
    for link in soup.find_all("a"):
        assert link["rel"] == ["nofollow", "ugc", "noopener"]


def test_markdown_keeps_ordinary_formatting() -> None:
    html = str(render_markdown("**bold** *it* `code`\n\n- a\n- b\n\n> quote\n\n[x](https://a.org)"))
    soup = BeautifulSoup(html, "html.parser")
    assert soup.strong and soup.em and soup.code and soup.ul and soup.blockquote
    assert soup.a is not None and soup.a["href"] == "https://a.org"


def test_hostile_comments_render_safely_in_the_thread(engine: Engine) -> None:
    paper = add_paper(engine, "2401.12345")
    author = load_user(engine, add_user(engine, '"><script>alert(7)</script>'))
    for body in HOSTILE:
        store.add_comment(engine, author, paper, body)
    html = render_community(engine, paper, "2401.12345", author)
    soup = assert_safe(html, ".comment-body")
    assert soup.select(".comment-body a[href]")  # the one https link survived
    for link in soup.find_all(href=True):  # the page's own links are paths on this site
        assert str(link["href"]).startswith(("/", "#", "https://")), link
    for form in soup.find_all("form"):
        assert str(form["action"]).startswith("/"), form["action"]
    assert soup.find_all(string=lambda s: "<script>alert(1)</script>" in s)  # shown as text
    assert len(soup.select("li.comment")) == len(HOSTILE)
    assert len(soup.select(".comment-author")) == len(HOSTILE)  # the hostile name as text too
    assert soup.find(string=lambda s: '"><script>alert(7)</script>' in s)
    with anonymous() as client:
        listed = client.get("/api/papers/2401.12345/comments").json()
    assert [item["body"] for item in listed] == [body.strip() for body in HOSTILE]
    for item in listed:
        assert_safe(item["html"])


def test_length_limit_and_empty_comment(engine: Engine) -> None:
    paper = add_paper(engine)
    user = load_user(engine, add_user(engine))
    with pytest.raises(store.CommentError, match="too long"):
        store.add_comment(engine, user, paper, "x" * (store.MAX_COMMENT_CHARS + 1))
    with pytest.raises(store.CommentError, match="empty"):
        store.add_comment(engine, user, paper, "   \n ")
    store.add_comment(engine, user, paper, "x" * store.MAX_COMMENT_CHARS)
    assert len(store.list_comments(engine, paper)) == 1


def test_edit_and_delete_only_your_own_and_deleted_shows_placeholder(engine: Engine) -> None:
    paper = add_paper(engine, "2401.12345")
    alice, bob = (
        load_user(engine, add_user(engine, "alice")),
        load_user(engine, add_user(engine, "bob")),
    )
    pk = store.add_comment(engine, alice, paper, "First *thoughts*")
    with pytest.raises(store.NotYourComment):
        store.edit_comment(engine, bob, pk, "hijacked")
    with pytest.raises(store.NotYourComment):
        store.delete_comment(engine, bob, pk)
    store.edit_comment(engine, alice, pk, "Second thoughts")
    (view,) = store.list_comments(engine, paper)
    assert view.body == "Second thoughts" and view.edited_at is not None
    store.delete_comment(engine, alice, pk)
    (view,) = store.list_comments(engine, paper)
    assert view.deleted and view.body == "" and "[deleted]" in str(view.html)
    with pytest.raises(store.CommentError, match="deleted"):
        store.edit_comment(engine, alice, pk, "back from the dead")
    html = render_community(engine, paper, "2401.12345", alice)
    assert "[deleted]" in html and "Second thoughts" not in html
    with engine.connect() as conn:  # trending's comment count: +1 then -1
        counts = conn.execute(
            select(paper_activity.c.count).where(
                paper_activity.c.paper_pk == paper, paper_activity.c.kind == "comment"
            )
        ).scalars()
        assert list(counts) == [0]


def test_comment_routes_post_edit_delete_flag_with_csrf(engine: Engine) -> None:
    paper = add_paper(engine, "2401.12345")
    alice, bob = add_user(engine, "alice"), add_user(engine, "bob")
    with signed_in(engine, alice) as client:
        token = form_token(client)
        missing = client.post("/papers/2401.12345/comments", data={"body": "hi"})
        assert missing.status_code == 403
        evil = client.post(
            "/papers/2401.12345/comments",
            data={"body": "hi", "csrf_token": token},
            headers={"Origin": "http://evil.test"},
        )
        assert evil.status_code == 403
        posted = client.post(
            "/papers/2401.12345/comments",
            data={"body": "Nice **result**", "csrf_token": token},
            follow_redirects=False,
        )
        assert posted.status_code == 303
        (comment,) = store.list_comments(engine, paper)
        assert posted.headers["location"] == f"/papers/2401.12345#comment-{comment.pk}"
        too_long = client.post(
            "/papers/2401.12345/comments",
            data={"body": "y" * (store.MAX_COMMENT_CHARS + 1), "csrf_token": token},
        )
        assert too_long.status_code == 400 and "too long" in too_long.text
    with signed_in(engine, bob) as other:
        token = form_token(other)
        edit = other.post(f"/comments/{comment.pk}/edit", data={"body": "x", "csrf_token": token})
        assert edit.status_code == 403
        delete = other.post(f"/comments/{comment.pk}/delete", data={"csrf_token": token})
        assert delete.status_code == 403
        flag = other.post(
            f"/comments/{comment.pk}/flag",
            data={"reason": "spam", "csrf_token": token},
            follow_redirects=False,
        )
        assert flag.status_code == 303
        assert other.post("/comments/999999/delete", data={"csrf_token": token}).status_code == 404
    with signed_in(engine, alice) as client:
        token = form_token(client)
        edit = client.post(
            f"/comments/{comment.pk}/edit",
            data={"body": "Edited", "csrf_token": token},
            follow_redirects=False,
        )
        assert edit.status_code == 303
        assert client.post(f"/comments/{comment.pk}/delete", data={}).status_code == 403
        deleted = client.post(
            f"/comments/{comment.pk}/delete", data={"csrf_token": token}, follow_redirects=False
        )
        assert deleted.status_code == 303
    with engine.connect() as conn:
        row = conn.execute(select(comments).where(comments.c.pk == comment.pk)).one()
        assert row.deleted_at is not None and row.body == ""
        flags = conn.execute(select(comment_flags.c.reason)).scalars().all()
        assert flags == ["spam"]


def test_anonymous_comment_goes_to_login_and_flag_twice_counts_once(engine: Engine) -> None:
    paper = add_paper(engine, "2401.12345")
    alice, bob = load_user(engine, add_user(engine)), load_user(engine, add_user(engine))
    pk = store.add_comment(engine, alice, paper, "hello")
    assert store.flag_comment(engine, bob, pk, "rude") is True
    assert store.flag_comment(engine, bob, pk, "rude again") is False
    assert store.list_comments(engine, paper)[0].flags == 1
    with anonymous() as anon:
        response = anon.post(
            "/papers/2401.12345/comments", data={"body": "hi"}, follow_redirects=False
        )
        assert response.status_code == 303
        assert response.headers["location"].startswith("/login?next=")
    assert len(store.list_comments(engine, paper)) == 1


def test_paper_page_shows_the_thread_safely_with_actions_by_role(engine: Engine) -> None:
    paper = add_paper(engine, "2401.12345")
    root, writer = add_user(engine, "root", admin=True), add_user(engine, "writer")
    for body in HOSTILE:
        store.add_comment(engine, load_user(engine, writer), paper, body)
    with signed_in(engine, root) as client:
        page = client.get("/papers/2401.12345")
        assert page.status_code == 200
        soup = assert_safe(page.text, ".comment-body")
        assert len(soup.select("li.comment")) == len(HOSTILE)
        assert soup.select('form[action="/admin/papers/hide"]')  # administrators' actions
        assert soup.select('form[action="/papers/2401.12345/comments"]')
    with signed_in(engine, writer) as client:
        soup = assert_safe(client.get("/papers/2401.12345").text, ".comment-body")
        assert soup.select('form[action$="/edit"]') and not soup.select('form[action^="/admin"]')
    with anonymous() as anon:
        soup = assert_safe(anon.get("/papers/2401.12345").text, ".comment-body")
        assert not soup.select('form[action$="/comments"]')  # log in to comment
        assert not soup.select('form[action="/papers/2401.12345/upvote"]')  # log in to vote
        assert soup.select('a.vote-button[href="/login?next=/papers/2401.12345"]')
