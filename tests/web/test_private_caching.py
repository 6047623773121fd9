"""Pages and API answers made for a signed-in user say ``Cache-Control: private``, so no shared
cache (a proxy, a CDN) keeps one person's page for the next; anonymous pages are unchanged.

The routes come from the app, so a page added later is covered too.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.routing import APIRoute, iter_route_contexts
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from paperfeed.community.sessions import create_api_token
from paperfeed.web.app import create_app
from tests.factories import BASE, add_paper, add_user, signed_in

PAPER = "2401.12345"
# Pages that take a query to say anything: asked with one.
QUERIES = {"/search": "?q=graphs", "/api/search": "?q=graphs"}


def get_routes() -> list[str]:
    """Every GET route of the app without path parameters (and not the static files)."""
    paths = set()
    for context in iter_route_contexts(create_app().routes):
        route = context.original_route
        path = context.path or getattr(route, "path", "")
        if isinstance(route, APIRoute) and "GET" in route.methods and "{" not in path:
            paths.add(path)
    return sorted(paths)


@pytest.fixture
def clients(engine: Engine) -> Iterator[tuple[TestClient, TestClient, TestClient]]:
    add_paper(engine, PAPER)
    user_pk = add_user(engine, "ada")
    token = create_api_token(engine, user_pk, "script")
    with (
        TestClient(create_app(), base_url=BASE) as anonymous,
        signed_in(engine, user_pk) as session,
        TestClient(
            create_app(), base_url=BASE, headers={"authorization": f"Bearer {token}"}
        ) as script,
    ):
        yield anonymous, session, script


def private(response: object) -> bool:
    value = response.headers.get("cache-control", "")  # type: ignore[attr-defined]
    return "private" in value or "no-store" in value


def test_every_page_made_for_a_signed_in_user_is_private(
    clients: tuple[TestClient, TestClient, TestClient],
) -> None:
    anonymous, session, script = clients
    public, leaks = [], []
    for path in get_routes():
        url = path + QUERIES.get(path, "")
        seen = anonymous.get(url)
        if private(seen):
            public.append(path)
        for who, client in (("session", session), ("token", script)):
            mine = client.get(url)
            if mine.text != seen.text and not private(mine):
                leaks.append(f"{who} {path} {mine.status_code}")
    assert not leaks, "signed-in answers without Cache-Control: private: " + ", ".join(leaks)
    assert not public, f"anonymous answers made private: {public}"


@pytest.mark.parametrize("path", ["/account", "/library", f"/papers/{PAPER}", "/for-you"])
def test_named_pages_are_private_when_signed_in(
    clients: tuple[TestClient, TestClient, TestClient], path: str
) -> None:
    anonymous, session, _ = clients
    assert private(session.get(path))
    assert not private(anonymous.get(path, follow_redirects=False))


def test_api_answers_for_a_token_are_private(
    clients: tuple[TestClient, TestClient, TestClient],
) -> None:
    _, _, script = clients
    assert private(script.get("/api/library"))
    assert private(script.put(f"/api/library/{PAPER}", json={"tags": ["x"]}))
