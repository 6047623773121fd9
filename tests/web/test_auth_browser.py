"""Real Chromium (Playwright) against a real server on http://127.0.0.1: the `__Host-` session
cookie is Secure, and Chromium treats loopback as a secure context, so `make run` works."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import Engine

from paperfeed.web.auth_deps import SESSION_COOKIE
from tests.live_server import serve_app
from tests.web.chromium import chromium_page, needs_chromium

pytestmark = needs_chromium


@pytest.fixture
def site(engine: Engine) -> Iterator[str]:
    with serve_app() as url:
        yield url


def test_register_log_out_and_in_with_chromium_over_http_loopback(site: str) -> None:
    with chromium_page(1280, 720) as (page, _):
        page.goto(f"{site}/register")
        page.fill("#register-username", "ada")
        page.fill("#register-email", "ada@example.org")
        page.fill("#register-password", "correct horse battery staple")
        page.click("form.auth-form button[type=submit]")
        page.wait_for_url(f"{site}/")
        cookies = {c["name"]: c for c in page.context.cookies()}
        session = cookies[SESSION_COOKIE]
        assert session["secure"] and session["httpOnly"] and session["sameSite"] == "Lax"
        assert session["path"] == "/" and session["domain"] == "127.0.0.1"
        # Chromium sent the Secure cookie back over http://127.0.0.1: the header shows the user.
        assert page.locator("nav.site-nav a[href='/account']").inner_text() == "ada"

        page.click("nav.site-nav button:has-text('Log out')")
        page.wait_for_url(f"{site}/")
        assert SESSION_COOKIE not in {c["name"] for c in page.context.cookies()}
        assert page.locator("nav.site-nav a[href='/login']").count() == 1

        page.goto(f"{site}/account")  # sends the visitor to log in, then back
        page.fill("#login-name", "ada@example.org")
        page.fill("#login-password", "correct horse battery staple")
        page.click("form.auth-form button[type=submit]")
        page.wait_for_url(f"{site}/account")
        assert page.locator("h1").inner_text() == "Your account"
        new_session = {c["name"]: c for c in page.context.cookies()}[SESSION_COOKIE]
        assert new_session["value"] != session["value"]
