"""The factories' clients: a session cookie signs a user in, and only it."""

from __future__ import annotations

from sqlalchemy import Engine

from tests.factories import add_user, anonymous, signed_in


def test_a_session_cookie_signs_the_user_in(engine: Engine) -> None:
    pk = add_user(engine, "alice")
    with signed_in(engine, pk) as client:
        assert "alice" in client.get("/").text
    with anonymous() as client:
        assert "alice" not in client.get("/").text
