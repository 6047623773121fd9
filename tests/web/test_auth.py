"""Account pages through the TestClient, on both backends: the session cookie (RELIABILITY 15),
log-in errors and password reset (16), rate limits (17), CSRF (12) and API tokens."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from http.cookies import SimpleCookie
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from fastapi.testclient import TestClient
from httpx import Response
from sqlalchemy import Engine, func, select

from paperfeed import config
from paperfeed.community import accounts
from paperfeed.community.ratelimit import LOGIN_LIMIT
from paperfeed.store.community_schema import sessions
from paperfeed.web.app import create_app
from paperfeed.web.auth_deps import SESSION_COOKIE
from paperfeed.web.request_guards import NUL_IN_FORM
from tests.factories import PASSWORD, register_user
from tests.web.test_home import assert_security_headers, scan

BASE = "https://testserver"
CSRF_RE = re.compile(r'name="csrf_token" value="([0-9a-f]+)"')


@contextmanager
def browser(**kwargs: Any) -> Iterator[TestClient]:
    # https: the session cookie is Secure, so a client on http would not send it back.
    with TestClient(create_app(), base_url=BASE, follow_redirects=False, **kwargs) as client:
        yield client


@pytest.fixture
def client(engine: Engine) -> Iterator[TestClient]:
    with browser() as client:
        yield client


@pytest.fixture
def ada(engine: Engine) -> accounts.User:
    return register_user(engine)


def csrf(client: TestClient, path: str = "/reset") -> str:
    match = CSRF_RE.search(client.get(path).text)
    assert match, f"no form token on {path}"
    return match.group(1)


def log_in(
    client: TestClient, login: str = "ada", password: str = PASSWORD, **extra: str
) -> Response:
    form = {"login": login, "password": password, "csrf_token": csrf(client), **extra}
    return client.post("/login", data=form)


def session_count(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(sessions)).scalar_one())


def signed_in_as(client: TestClient) -> str | None:
    response = client.get("/account")
    if response.status_code != 200:
        assert response.status_code == 303 and response.headers["location"].startswith("/login")
        return None
    match = re.search(r"<dt>Username</dt>\s*<dd>([^<\s]+)", response.text)
    assert match
    return match.group(1)


# --- the session cookie (RELIABILITY 15) ----------------------------------------------------


def test_the_session_cookie_has_every_attribute(client: TestClient, ada: accounts.User) -> None:
    response = log_in(client)
    assert response.status_code == 303 and response.headers["location"] == "/"
    header = response.headers["set-cookie"]
    cookie = SimpleCookie()
    cookie.load(header)
    morsel = cookie[SESSION_COOKIE]
    assert SESSION_COOKIE == "__Host-paperfeed_session"
    assert morsel["secure"] and morsel["httponly"]
    assert morsel["samesite"].lower() == "lax"
    assert morsel["path"] == "/"
    assert not morsel["domain"] and "domain=" not in header.lower()
    assert len(morsel.value) >= 40
    assert signed_in_as(client) == "ada"


def test_every_login_gets_a_new_session_and_ends_the_old_one(
    engine: Engine, client: TestClient, ada: accounts.User
) -> None:
    log_in(client)
    first = client.cookies[SESSION_COOKIE]
    # Logging in again from the same browser (say, after a session fixation attempt).
    log_in(client)
    second = client.cookies[SESSION_COOKIE]
    assert first != second
    assert session_count(engine) == 1
    with browser(cookies={SESSION_COOKIE: first}) as replay:
        assert signed_in_as(replay) is None
    with browser(cookies={SESSION_COOKIE: second}) as current:
        assert signed_in_as(current) == "ada"


def test_a_planted_cookie_is_replaced_at_login(engine: Engine, ada: accounts.User) -> None:
    with browser(cookies={SESSION_COOKIE: "chosen-by-an-attacker"}) as client:
        response = log_in(client)
        assert response.cookies[SESSION_COOKIE] != "chosen-by-an-attacker"
    with browser(cookies={SESSION_COOKIE: response.cookies[SESSION_COOKIE]}) as client:
        assert signed_in_as(client) == "ada"


def test_after_logout_the_old_cookie_is_rejected(
    engine: Engine, client: TestClient, ada: accounts.User
) -> None:
    log_in(client)
    old = client.cookies[SESSION_COOKIE]
    token = csrf(client, "/account")
    response = client.post("/logout", data={"csrf_token": token})
    assert response.status_code == 303
    assert (
        "Max-Age=0" in response.headers["set-cookie"]
        or "expires=" in response.headers["set-cookie"].lower()
    )
    assert session_count(engine) == 0
    with browser(cookies={SESSION_COOKIE: old}) as replay:
        assert signed_in_as(replay) is None


# --- log in, register (RELIABILITY 16) ------------------------------------------------------


def test_unknown_user_and_wrong_password_get_the_same_page(
    client: TestClient, ada: accounts.User
) -> None:
    wrong = log_in(client, "ada", "not the password")
    unknown = log_in(client, "nobody", "not the password")
    assert wrong.status_code == unknown.status_code == 400
    assert accounts.LOGIN_FAILED in wrong.text and accounts.LOGIN_FAILED in unknown.text
    assert "set-cookie" not in wrong.headers
    assert "not the password" not in wrong.text + unknown.text
    assert signed_in_as(client) is None


def test_register_logs_in_and_form_errors_re_render_without_the_password(
    client: TestClient,
) -> None:
    form = {"username": "grace", "email": "Grace@Example.org", "csrf_token": csrf(client)}
    common = client.post("/register", data={**form, "password": "iloveyou"})
    assert common.status_code == 400 and "too common" in common.text
    assert 'value="grace"' in common.text and "iloveyou" not in common.text
    short = client.post("/register", data={**form, "password": "tiny"})
    assert short.status_code == 400 and "at least 8" in short.text
    missing = client.post("/register", data={"csrf_token": form["csrf_token"]})
    assert missing.status_code == 400 and "Usernames have" in missing.text
    long_password = "a long passphrase, " * 10
    created = client.post("/register", data={**form, "password": long_password})
    assert created.status_code == 303
    assert signed_in_as(client) == "grace"
    with browser() as other:
        again = {**form, "username": "Grace2", "password": long_password, "csrf_token": csrf(other)}
        duplicate = other.post("/register", data=again)
        assert duplicate.status_code == 400 and "email address exists" in duplicate.text
        assert log_in(other, "grace@example.org", long_password).status_code == 303


@pytest.mark.parametrize(
    ("target", "expected"),
    [
        ("/papers/2401.12345?x=1", "/papers/2401.12345?x=1"),
        ("https://evil.test/", "/"),
        ("//evil.test/", "/"),
        ("/\\evil.test", "/"),
        ("javascript:alert(1)", "/"),
        ("/\nLocation: https://evil.test", "/"),
    ],
)
def test_next_only_leads_to_this_site(
    client: TestClient, ada: accounts.User, target: str, expected: str
) -> None:
    response = log_in(client, next=target)
    assert response.status_code == 303
    assert response.headers["location"] == expected


def test_login_name_with_a_nul_byte_is_a_400_not_a_crash(client: TestClient) -> None:
    # Refused before the route runs, as a NUL in any form field is (request_guards).
    response = log_in(client, "ada\x00", "whatever1")
    assert response.status_code == 400 and response.text == NUL_IN_FORM


def test_a_suspended_account_cannot_log_in(
    engine: Engine, client: TestClient, ada: accounts.User
) -> None:
    accounts.set_suspended(engine, ada.pk, True)
    response = log_in(client)
    assert response.status_code == 400 and "suspended" in response.text
    assert signed_in_as(client) is None


# --- rate limits (RELIABILITY 17) -----------------------------------------------------------


def test_the_11th_login_to_an_account_gets_429_with_retry_after(
    engine: Engine, ada: accounts.User
) -> None:
    with browser(client=("192.0.2.66", 40000)) as client:
        for _ in range(LOGIN_LIMIT):
            assert log_in(client, "ada", "wrong password").status_code == 400
        response = log_in(client)  # even the right password
        assert response.status_code == 429
        assert 1 <= int(response.headers["retry-after"]) <= 300
        assert "Too many attempts" in response.text
        assert "set-cookie" not in response.headers
    # Strangers' guesses do not lock the owner out: from another address, ada logs in.
    with browser(client=("198.51.100.20", 40000)) as client:
        assert log_in(client).status_code == 303
        assert signed_in_as(client) == "ada"


def test_the_11th_login_from_one_address_gets_429(engine: Engine) -> None:
    with browser(client=("198.51.100.7", 40000)) as client:
        for attempt in range(LOGIN_LIMIT):
            assert log_in(client, f"user{attempt}", "wrong password").status_code == 400
        response = log_in(client, "another", "wrong password")
        assert response.status_code == 429 and int(response.headers["retry-after"]) >= 1
    with browser(client=("198.51.100.8", 40000)) as client:
        assert log_in(client, "another", "wrong password").status_code == 400


def exhaust_by_forwarded_for(forwarded: str, limit: int = LOGIN_LIMIT) -> list[int]:
    """Statuses of ``limit + 1`` logins from one peer, each claiming another client address."""
    statuses = []
    with browser(client=("127.0.0.1", 40000)) as client:
        for attempt in range(limit + 1):
            headers = {"X-Forwarded-For": f"{forwarded}{attempt}"}
            token = csrf(client)
            form = {"login": f"u{attempt}", "password": "wrong password", "csrf_token": token}
            statuses.append(client.post("/login", data=form, headers=headers).status_code)
    return statuses


def test_forwarded_for_is_ignored_without_a_trusted_proxy(engine: Engine) -> None:
    # Every attempt claims a different client, but the peer is what counts: the 11th is refused.
    assert exhaust_by_forwarded_for("203.0.113.")[-1] == 429


def test_forwarded_for_is_believed_from_a_trusted_proxy(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PAPERFEED_TRUSTED_PROXIES", "127.0.0.1, 10.0.0.0/8")
    config.get_settings.cache_clear()
    assert exhaust_by_forwarded_for("203.0.113.") == [400] * (LOGIN_LIMIT + 1)
    # And the one client behind the proxy is limited by its own address.
    statuses = []
    with browser(client=("10.1.2.3", 40000)) as client:
        for _ in range(LOGIN_LIMIT + 1):
            form = {"login": "x", "password": "wrong password", "csrf_token": csrf(client)}
            headers = {"X-Forwarded-For": "203.0.113.50, 10.9.9.9"}
            statuses.append(client.post("/login", data=form, headers=headers).status_code)
    assert statuses[-1] == 429


# --- CSRF (RELIABILITY 12) ------------------------------------------------------------------

POST_ROUTES = [
    "/register",
    "/login",
    "/logout",
    "/reset",
    "/reset/some-token",
    "/account/tokens",
    "/account/tokens/1/revoke",
    "/account/password",
]


@pytest.mark.parametrize("path", POST_ROUTES)
def test_cross_site_posts_are_refused(
    engine: Engine, client: TestClient, ada: accounts.User, path: str
) -> None:
    log_in(client)
    token = csrf(client, "/account")
    for headers in ({"Origin": "http://evil.test"}, {"Sec-Fetch-Site": "cross-site"}):
        response = client.post(path, data={"csrf_token": token, "name": "x"}, headers=headers)
        assert response.status_code == 403
    missing = client.post(path, data={"name": "x", "login": "ada", "password": PASSWORD})
    assert missing.status_code == 403
    forged = client.post(path, data={"csrf_token": "0" * 64, "email": "ada@example.org"})
    assert forged.status_code == 403
    assert signed_in_as(client) == "ada"
    assert session_count(engine) == 1


# --- password reset through the site, mail through a real SMTP server -----------------------


class Inbox:
    def __init__(self) -> None:
        self.messages: list[tuple[list[str], str]] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append((list(envelope.rcpt_tos), envelope.content.decode()))
        return "250 OK"


@pytest.fixture
def inbox(monkeypatch: pytest.MonkeyPatch) -> Iterator[Inbox]:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    handler = Inbox()
    controller = Controller(handler, hostname="127.0.0.1", port=port, ready_timeout=10)
    controller.start()
    monkeypatch.setenv("PAPERFEED_SMTP_URL", f"smtp://127.0.0.1:{port}")
    config.get_settings.cache_clear()
    yield handler
    controller.stop()


def test_reset_answers_the_same_and_its_link_works_once(
    engine: Engine, inbox: Inbox, ada: accounts.User
) -> None:
    with browser() as client:
        log_in(client)
        assert signed_in_as(client) == "ada"
        with browser() as anonymous:
            token = csrf(anonymous, "/reset")
            known = anonymous.post("/reset", data={"email": "ADA@example.org", "csrf_token": token})
            unknown = anonymous.post(
                "/reset", data={"email": "no@example.org", "csrf_token": token}
            )
            assert known.status_code == unknown.status_code == 200
            assert known.text == unknown.text
            assert [rcpt for rcpt, _ in inbox.messages] == [["ada@example.org"]]
            link = re.search(r"https?://\S+/reset/(\S+)", inbox.messages[0][1])
            assert link
            path = f"/reset/{link.group(1)}"
            form_page = anonymous.get(path)
            assert form_page.status_code == 200 and 'name="password"' in form_page.text
            token = csrf(anonymous, path)
            weak = anonymous.post(path, data={"password": "password", "csrf_token": token})
            assert weak.status_code == 400 and "too common" in weak.text
            done = anonymous.post(path, data={"password": "new passphrase!", "csrf_token": token})
            assert done.status_code == 303 and done.headers["location"] == "/login?reset=1"
            again = anonymous.post(path, data={"password": "another phrase!", "csrf_token": token})
            assert again.status_code == 400 and "not valid" in again.text
            assert anonymous.get(path).status_code == 400
        # The reset logged the account out everywhere; the new password works, the old does not.
        assert signed_in_as(client) is None
        assert log_in(client, "ada", PASSWORD).status_code == 400
        assert log_in(client, "ada", "new passphrase!").status_code == 303


def test_reset_requests_are_capped_per_day(engine: Engine, inbox: Inbox) -> None:
    with browser() as client:
        token = csrf(client, "/reset")
        statuses = [
            client.post("/reset", data={"email": "x@example.org", "csrf_token": token}).status_code
            for _ in range(4)
        ]
    assert statuses == [200, 200, 200, 429]
    assert inbox.messages == []


# --- the account page and API tokens --------------------------------------------------------


def test_api_tokens_are_shown_once_work_as_bearer_and_can_be_revoked(
    client: TestClient, ada: accounts.User
) -> None:
    log_in(client)
    page = client.post(
        "/account/tokens", data={"name": "my script", "csrf_token": csrf(client, "/account")}
    )
    assert page.status_code == 200 and page.headers["cache-control"] == "no-store"
    token = re.search(r'<code class="token-value">(pf_[\w-]+)</code>', page.text)
    assert token and "my script" in page.text
    listing = client.get("/account").text
    assert token.group(1) not in listing and "my script" in listing
    with browser() as script:
        bearer = {"Authorization": f"Bearer {token.group(1)}"}
        assert script.get("/account", headers=bearer).status_code == 200
        bad = script.get("/account", headers={"Authorization": "Bearer pf_not-a-token"})
        assert bad.status_code == 401
        revoke = re.search(r'action="(/account/tokens/\d+/revoke)"', listing)
        assert revoke
        client.post(revoke.group(1), data={"csrf_token": csrf(client, "/account")})
        assert script.get("/account", headers=bearer).status_code == 401


def test_change_password_keeps_this_session_and_ends_the_others(
    client: TestClient, ada: accounts.User
) -> None:
    with browser() as elsewhere:
        log_in(elsewhere)
        log_in(client)
        token = csrf(client, "/account")
        wrong = client.post(
            "/account/password",
            data={
                "current_password": "nope",
                "new_password": "fresh passphrase",
                "csrf_token": token,
            },
        )
        assert wrong.status_code == 400 and "current password" in wrong.text
        done = client.post(
            "/account/password",
            data={
                "current_password": PASSWORD,
                "new_password": "fresh passphrase",
                "csrf_token": token,
            },
        )
        assert done.status_code == 303
        assert signed_in_as(client) == "ada"
        assert signed_in_as(elsewhere) is None


def test_pages_that_need_an_account_send_visitors_to_log_in(client: TestClient) -> None:
    response = client.get("/account")
    assert response.status_code == 303
    assert response.headers["location"] == "/login?next=%2Faccount"
    for path in ("/login", "/register", "/reset"):
        page = client.get(path)
        assert page.status_code == 200 and CSRF_RE.search(page.text)


def test_account_pages_send_the_security_headers_and_escape_what_users_typed(
    client: TestClient, ada: accounts.User
) -> None:
    for path in ("/login", "/register", "/reset", "/reset/not-a-token"):
        assert_security_headers(client.get(path))
    log_in(client)
    hostile = '"><script>alert(1)</script><img src=x onerror=alert(2)>'
    token = csrf(client, "/account")
    created = client.post("/account/tokens", data={"name": hostile, "csrf_token": token})
    assert_security_headers(created)
    assert "<script>alert(1)" not in created.text and "&lt;script&gt;" in created.text
    html = client.get("/account").text
    assert html.count("<script") == html.count('<script src="/static/')  # none from the name
    assert not scan(html).handlers
    echoed = client.post("/register", data={"username": hostile, "csrf_token": token})
    assert "<script>alert(1)" not in echoed.text
