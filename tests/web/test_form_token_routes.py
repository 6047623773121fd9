"""Every route that changes state checks the form token (or an API token) before anything else.

The check is a dependency of the routers (``FormTokenChecked``, or ``SignedInFormTokenChecked``
where every change needs an account), not a call each handler must remember; these tests hold
every POST, PUT, PATCH and DELETE route of the app to it, so that a new route added to a router
without it fails here.
"""

from __future__ import annotations

import re

import fastapi.routing
import pytest
from fastapi import FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from paperfeed.community import accounts, sessions
from paperfeed.web.app import create_app
from paperfeed.web.auth_deps import (
    SESSION_COOKIE,
    UNSAFE_METHODS,
    require_form_token,
    require_form_token_if_signed_in,
)

# State changes without a form token, and why each is safe.
EXEMPT = {
    ("POST", "/unsubscribe/{token}"): "RFC 8058 one-click: mail clients send no cookie or "
    "form token; the signed token in the address allows this one change only",
    ("POST", "/api/subscriptions"): "anonymous JSON API that reads no cookie: a request sent "
    "from another site can do nothing that a direct one cannot (and it is double opt-in)",
}


def unsafe_routes(app: FastAPI) -> list[tuple[str, str, Dependant]]:
    """(method, path, dependant) of each state-changing route, in included routers too."""
    # FastAPI >= 0.16x includes routers lazily: app.routes holds the routers, not their routes.
    walk = getattr(fastapi.routing, "iter_route_contexts", None)
    found = []
    for context in walk(app.routes) if walk else app.routes:
        route = getattr(context, "original_route", context)
        if isinstance(route, APIRoute):
            dependant = getattr(context, "dependant", None) or route.dependant
            for method in sorted(route.methods & UNSAFE_METHODS):
                found.append((method, context.path, dependant))
    return found


def checks_form_token(dependant: Dependant) -> bool:
    checks = (require_form_token, require_form_token_if_signed_in)
    return any(dep.call in checks for dep in dependant.dependencies)


@pytest.fixture
def app() -> FastAPI:
    # Per test: the app reads its settings (allowed hosts, data folder) when it is made, after
    # the autouse fixture that isolates them.
    return create_app()


@pytest.fixture
def routes(app: FastAPI) -> dict[tuple[str, str], Dependant]:
    return {(method, path): dependant for method, path, dependant in unsafe_routes(app)}


def test_every_state_changing_route_carries_the_form_token_check(
    routes: dict[tuple[str, str], Dependant],
) -> None:
    assert len(routes) >= 30  # the forms and the JSON write API: the walk found them
    missing = [
        route
        for route, dependant in routes.items()
        if route not in EXEMPT and not checks_form_token(dependant)
    ]
    assert not missing, f"state-changing routes without FormTokenChecked: {missing}"


def test_the_exemptions_are_routes_that_exist_and_skip_the_check(
    routes: dict[tuple[str, str], Dependant],
) -> None:
    for route in EXEMPT:
        assert route in routes and not checks_form_token(routes[route]), route


def _address(path: str) -> str:
    """The route's path with each parameter filled in, so that it matches."""
    return re.sub(r"\{[^}]+\}", "2401.00001", path)


def test_a_signed_in_request_without_the_token_is_refused_before_anything_else(
    engine: Engine, app: FastAPI, routes: dict[tuple[str, str], Dependant]
) -> None:
    """As a form and as JSON: 403, before a 404 or a 422 says more."""
    user = accounts.register(engine, "ada", "ada@example.org", "correct horse battery staple")
    refused = {}
    with TestClient(app, base_url="https://testserver") as client:
        client.cookies.set(SESSION_COOKIE, sessions.start_session(engine, user.pk))
        for method, path in routes.keys() - EXEMPT.keys():
            form = client.request(method, _address(path), data={"next": "/"})
            json = client.request(method, _address(path), json={})
            refused[method, path] = (form.status_code, json.status_code, "expired" in form.text)
    assert refused == {route: (403, 403, True) for route in refused}


def test_anonymous_sign_in_forms_need_the_token_too(engine: Engine, app: FastAPI) -> None:
    """A forged login would sign the victim in as the forger."""
    with TestClient(app, base_url="https://testserver") as client:
        for path in ("/login", "/register", "/reset"):
            assert client.post(path, data={"login": "ada"}).status_code == 403, path
