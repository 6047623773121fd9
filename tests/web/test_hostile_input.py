"""Hostile JSON is a 4xx, never a 500, and no error page echoes it (RELIABILITY 24, 14).

The endpoints come from the app's own routes, so a JSON endpoint added later is covered too.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi import FastAPI, params
from fastapi.routing import APIRoute, iter_route_contexts
from fastapi.testclient import TestClient
from pydantic import BaseModel
from sqlalchemy import Engine

from paperfeed.community.sessions import create_api_token, start_session
from paperfeed.web.app import create_app
from paperfeed.web.auth_deps import SESSION_COOKIE
from tests.factories import BASE, add_paper, add_user, form_token
from tests.web.test_home import assert_security_headers

PAPER = "2401.12345"
# JSON text that Python's json module accepts but nothing downstream can use or print safely.
HOSTILE = {
    "huge float": "1e999",
    "NaN": "NaN",
    "Infinity": "Infinity",
    "-Infinity": "-Infinity",
    "lone surrogate": '"\\ud800"',
    "2^63": "9223372036854775808",
    "-2^63-1": "-9223372036854775809",
    "2^64": "18446744073709551616",
    "NUL byte": '"a\\u0000b"',
    "in a list": '["ok", "\\udfff"]',
}
# What must never come back in an error: the hostile value itself.
ECHOES = ("1e999", "NaN", "Infinity", "ud800", "udfff", "\ud800", "922337203685477580", "\x00")
UNSAFE = {"POST", "PUT", "PATCH", "DELETE"}


def json_write_endpoints(app: FastAPI) -> list[tuple[str, str, list[str]]]:
    """(method, path, body fields) of every route that takes a JSON body."""
    found = []
    for context in iter_route_contexts(app.routes):
        route = context.original_route
        if not isinstance(route, APIRoute) or route.body_field is None:
            continue
        if isinstance(route.body_field.field_info, params.Form):
            continue
        path = context.path or route.path
        for method in sorted(route.methods & UNSAFE):
            found.append((method, path, _fields(route.body_field.field_info.annotation)))
    return found


def _fields(model: Any) -> list[str]:
    return (
        list(model.model_fields) if isinstance(model, type) and issubclass(model, BaseModel) else []
    )


def _fill(path: str) -> str:
    for name in ("{paper_id:path}", "{paper_id}"):
        path = path.replace(name, PAPER)
    return path.replace("{comment_pk}", "1").replace("{token}", "x")


def _bodies(fields: list[str]) -> Iterator[tuple[str, str]]:
    for label, value in HOSTILE.items():
        yield label, value
        yield f"key with {label}", '{"\\ud800x": ' + value + "}"
        for field in fields:
            yield f"{field} = {label}", f'{{"{field}": {value}}}'


@pytest.fixture
def clients(engine: Engine) -> Iterator[dict[str, TestClient]]:
    add_paper(engine, PAPER)
    token = create_api_token(engine, add_user(engine), "probe")
    app = create_app()
    anonymous = TestClient(app, base_url=BASE, raise_server_exceptions=False)
    signed_in = TestClient(
        app,
        base_url=BASE,
        raise_server_exceptions=False,
        headers={"Authorization": f"Bearer {token}"},
    )
    with anonymous, signed_in:
        yield {"anonymous": anonymous, "with a token": signed_in}


def test_the_probe_finds_the_json_endpoints() -> None:
    found = {(method, path) for method, path, _ in json_write_endpoints(create_app())}
    assert ("POST", "/api/subscriptions") in found
    assert ("PUT", "/api/library/{paper_id:path}") in found
    assert not any(path == "/login" for _, path in found)  # a form, not JSON


def test_hostile_json_is_a_4xx_with_headers_on_every_json_endpoint(
    clients: dict[str, TestClient],
) -> None:
    endpoints = json_write_endpoints(create_app())
    failures = []
    for who, client in clients.items():
        for method, path, fields in endpoints:
            for label, body in _bodies(fields):
                response = client.request(
                    method,
                    _fill(path),
                    content=body.encode(),
                    headers={"content-type": "application/json"},
                )
                problem = _problem(response)
                if problem:
                    failures.append(f"{who} {method} {path} {label}: {problem}")
    assert not failures, "\n".join(failures[:40])


def _problem(response: Any) -> str:
    if not 400 <= response.status_code < 500:
        return f"status {response.status_code}"
    try:
        assert_security_headers(response)
    except (AssertionError, KeyError):
        return "security headers missing"
    echoed = [text for text in ECHOES if text in response.text]
    return f"echoes {echoed}" if echoed else ""


def test_a_crash_is_a_500_with_the_security_headers_and_no_traceback(engine: Engine) -> None:
    app = create_app()

    def boom() -> None:
        raise RuntimeError("secret internals")

    app.add_api_route("/api/boom", boom, methods=["GET", "POST"])
    app.add_api_route("/boom", boom)
    with TestClient(app, base_url=BASE, raise_server_exceptions=False) as client:
        for method, path in (("GET", "/boom"), ("GET", "/api/boom"), ("POST", "/api/boom")):
            response = client.request(method, path)
            assert response.status_code == 500
            assert_security_headers(response)
            assert "secret internals" not in response.text
            assert "Traceback" not in response.text


def test_a_422_names_the_field_but_does_not_echo_the_input(
    clients: dict[str, TestClient],
) -> None:
    body = {"email": {"<script>alert(1)</script>": "x"}, "frequency": "hourly\u0007"}
    response = clients["anonymous"].post("/api/subscriptions", json=body)
    assert response.status_code == 422
    assert_security_headers(response)
    assert "<script>" not in response.text and "hourly" not in response.text
    assert {tuple(problem["loc"]) for problem in response.json()["detail"]} == {
        ("body", "email"),
        ("body", "frequency"),
    }


def test_ordinary_json_still_reaches_the_route(clients: dict[str, TestClient]) -> None:
    body = {"email": "reader@example.org", "topic": "graph neural networks\n"}
    response = clients["anonymous"].post("/api/subscriptions", json=body)
    assert response.status_code == 202


def integer_path_routes(app: FastAPI) -> list[tuple[str, str]]:
    """(method, path) of every route with an integer in its path (row keys: comment 7)."""
    found = []
    for context in iter_route_contexts(app.routes):
        route = context.original_route
        if not isinstance(route, APIRoute):
            continue
        if any(param.field_info.annotation is int for param in route.dependant.path_params):
            path = context.path or route.path
            found.extend((method, path) for method in sorted(route.methods - {"HEAD"}))
    return found


def test_an_integer_past_64_bits_in_the_path_is_a_4xx(engine: Engine) -> None:
    admin = add_user(engine, admin=True)
    app = create_app()
    routes = integer_path_routes(app)
    assert ("POST", "/comments/{comment_pk}/edit") in routes
    failures = []
    with TestClient(app, base_url=BASE, raise_server_exceptions=False) as client:
        client.cookies.set(SESSION_COOKIE, start_session(engine, admin))
        token = form_token(client, "/account")
        for method, path in routes:
            for number in ("9223372036854775808", "-9223372036854775809", "1" + "0" * 30):
                url = re.sub(r"\{[^}]+\}", number, path)
                response = client.request(method, url, data={"csrf_token": token})
                if not 400 <= response.status_code < 500:
                    failures.append(f"{method} {url}: {response.status_code}")
    assert not failures, failures
