"""Control characters in short text fields (RELIABILITY 24): a clear 4xx or form error, never a
500 (PostgreSQL cannot store NUL) and never stored (a terminal escape, a bidi override)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, select

from paperfeed.community.comments import add_comment
from paperfeed.community.library import user_tags
from paperfeed.community.users import get_user
from paperfeed.store.community_schema import api_tokens, comment_flags
from paperfeed.web.request_guards import NUL_IN_FORM
from tests.factories import add_paper, add_user, form_token, signed_in

PAPER = "2401.12345"
CONTROLS = ["bad\x01tag", "red\x1b[31m", "rtl\u202eevil", "del\x7f", "zero\u200bwidth"]


@pytest.fixture
def reader(engine: Engine) -> Iterator[tuple[TestClient, int, str]]:
    add_paper(engine, PAPER)
    user_pk = add_user(engine)
    with signed_in(engine, user_pk) as client:
        yield client, user_pk, form_token(client)


@pytest.mark.parametrize("tag", CONTROLS)
def test_a_tag_with_a_control_character_is_a_clear_400_on_the_form_and_the_api(
    engine: Engine, reader: tuple[TestClient, int, str], tag: str
) -> None:
    client, user_pk, token = reader
    form = {"tags": f"fine, {tag}", "csrf_token": token}
    response = client.post(f"/papers/{PAPER}/tags", data=form, follow_redirects=False)
    assert response.status_code == 400 and "control or invisible" in response.text
    headers = {"x-csrf-token": token}
    api = client.put(f"/api/library/{PAPER}", json={"tags": ["fine", tag]}, headers=headers)
    assert 400 <= api.status_code < 500 and "control or invisible" in api.text
    assert user_tags(engine, user_pk) == []


def test_a_nul_byte_in_any_form_field_is_a_400_not_a_crash(
    engine: Engine, reader: tuple[TestClient, int, str]
) -> None:
    client, user_pk, token = reader
    with engine.connect() as conn:
        author = get_user(conn, user_pk)
    assert author is not None
    comment_pk = add_comment(engine, author, 1, "A fair point.")
    posts = [
        (f"/papers/{PAPER}/tags", {"tags": "a\x00b"}),
        (f"/comments/{comment_pk}/flag", {"reason": "spam\x00"}),
        ("/account/tokens", {"name": "laptop\x00"}),
        ("/subscribe", {"email": "a@example.org", "topic": "graphs\x00"}),
    ]
    for path, form in posts:
        response = client.post(path, data={**form, "csrf_token": token}, follow_redirects=False)
        assert response.status_code == 400 and response.text == NUL_IN_FORM, path
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(comment_flags)).scalar() == 0
    assert user_tags(engine, user_pk) == []


@pytest.mark.parametrize("name", ["laptop\x1b[2J", "rtl\u202eevil", "bell\x07"])
def test_an_api_token_name_with_a_control_character_is_a_form_error(
    engine: Engine, reader: tuple[TestClient, int, str], name: str
) -> None:
    client, _, token = reader
    response = client.post("/account/tokens", data={"name": name, "csrf_token": token})
    assert response.status_code == 400 and "printable characters" in response.text
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(api_tokens)).scalar() == 0
