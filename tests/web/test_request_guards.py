"""Oversized bodies get 413 (RELIABILITY.md, "Also") and NUL bytes in the address 400,
before any route runs."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from sqlalchemy import Engine

from paperfeed.web.request_guards import MAX_BODY_BYTES
from tests.live_server import serve_app
from tests.web.test_home import assert_security_headers


@pytest.fixture
def site(engine: Engine) -> Iterator[str]:
    with serve_app() as url:
        yield url


def test_a_declared_oversized_body_is_413(site: str) -> None:
    body = b"x" * (MAX_BODY_BYTES + 1)
    for path in ("/subscribe", "/api/papers/2401.00001/comments", "/login"):
        response = httpx.post(site + path, content=body, headers={"content-type": "text/plain"})
        assert response.status_code == 413, path
        assert_security_headers(response)


def test_a_streamed_oversized_body_is_413(site: str) -> None:
    def chunks() -> Iterator[bytes]:
        for _ in range(MAX_BODY_BYTES // 65536 + 2):
            yield b"y" * 65536

    response = httpx.post(
        site + "/login",
        content=chunks(),
        headers={"content-type": "application/x-www-form-urlencoded"},
    )
    assert response.status_code == 413


def test_an_ordinary_form_still_works(site: str) -> None:
    response = httpx.post(site + "/login", data={"login": "x", "password": "y"})
    assert response.status_code in (200, 403)  # a form error or the missing token: not 413


@pytest.mark.parametrize(
    "path", ["/api/library?tag=%00", "/search?q=a%00b", "/papers/24%0001.00001", "/date/%00"]
)
def test_a_nul_byte_in_the_address_is_400_not_a_crash(site: str, path: str) -> None:
    response = httpx.get(site + path)
    assert response.status_code == 400 and "NUL" in response.text
    assert_security_headers(response)
