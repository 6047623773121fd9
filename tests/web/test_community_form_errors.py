"""The paper page's forms when the site refuses what was typed, and the upvote button of a
visitor who is not signed in."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest
from bs4 import BeautifulSoup
from sqlalchemy import Engine

from paperfeed.community import comments as store
from tests.factories import add_paper, add_user, anonymous, form_token, signed_in


@pytest.mark.parametrize(
    ("body", "reason"),
    [("   \n  ", "empty"), ("y" * (store.MAX_COMMENT_CHARS + 1), "too long")],
)
def test_a_refused_comment_shows_the_paper_page_with_the_reason_and_the_text(
    engine: Engine, body: str, reason: str
) -> None:
    paper = add_paper(engine, "2401.12345", title="Flow matching on meshes")
    with signed_in(engine, add_user(engine, "alice")) as client:
        token = form_token(client)
        response = client.post(
            "/papers/2401.12345/comments", data={"body": body, "csrf_token": token}
        )
    assert response.status_code == 400
    soup = BeautifulSoup(response.text, "html.parser")
    assert soup.h1 is not None and soup.h1.get_text() == "Flow matching on meshes"
    form = soup.select_one("form.comment-form")
    assert form is not None
    error = form.select_one("#comment-error")
    assert error is not None and reason in error.get_text()
    textarea = form.select_one("textarea#comment-body")
    assert textarea is not None
    assert textarea.get_text() == body.lstrip("\n")  # the HTML parser drops a first newline
    assert textarea["aria-describedby"] == "comment-error"
    assert store.list_comments(engine, paper) == []
    # The page's other forms still lead back to the paper, not to the form's address.
    vote_next = soup.select_one("form.vote-form input[name=next]")
    assert vote_next is not None and vote_next["value"] == "/papers/2401.12345"


def test_the_comment_form_is_empty_and_without_error_otherwise(engine: Engine) -> None:
    add_paper(engine, "2401.12345")
    with signed_in(engine, add_user(engine, "alice")) as client:
        page = BeautifulSoup(client.get("/papers/2401.12345").text, "html.parser")
    assert page.select_one("#comment-error") is None
    textarea = page.select_one("textarea#comment-body")
    assert textarea is not None and textarea.get_text() == ""
    assert not textarea.has_attr("aria-invalid")


def test_the_json_api_still_answers_an_empty_comment_with_a_4xx(engine: Engine) -> None:
    add_paper(engine, "2401.12345")
    with signed_in(engine, add_user(engine, "alice")) as client:
        token = form_token(client)
        response = client.post(
            "/api/papers/2401.12345/comments",
            json={"body": "   "},
            headers={"X-CSRF-Token": token},
        )
    assert 400 <= response.status_code < 500
    assert response.headers["content-type"].startswith("application/json")


def test_a_visitor_s_upvote_button_is_a_link_to_log_in_and_come_back(engine: Engine) -> None:
    add_paper(engine, "2401.12345")
    with anonymous() as anon:
        for path in ("/papers/2401.12345", "/date/2026-05-04?ref=x"):
            page = BeautifulSoup(anon.get(path).text, "html.parser")
            assert page.select("form.vote-form, [hx-post*=upvote]") == []  # no request to fail
            (link,) = page.select("a.vote-button")
            next_ = parse_qs(urlsplit(str(link["href"])).query)["next"]
            assert urlsplit(str(link["href"])).path == "/login"
            assert next_ == [path]
            assert link.select_one(".vote-count") is not None
            assert "log in to upvote" in link.get_text()
    with signed_in(engine, add_user(engine)) as client:
        page = BeautifulSoup(client.get("/papers/2401.12345").text, "html.parser")
        (form,) = page.select("form.vote-form")
        assert form["hx-post"] == "/papers/2401.12345/upvote"
        assert page.select("a.vote-button") == []
