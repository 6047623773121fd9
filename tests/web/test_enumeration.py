"""No account enumeration (RELIABILITY 25): subscribing answers the same whether or not an
address has an account; its owner learns the difference by mail. (Log in and its limits:
tests/community/test_accounts.py; reset: tests/web/test_auth.py; register: docs/accounts.md.)
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from paperfeed import config
from paperfeed.community import accounts
from paperfeed.mail import subscriptions as subs
from paperfeed.mail.outbox import suppress
from paperfeed.store.engine import write_transaction
from paperfeed.web.app import create_app
from paperfeed.web.auth_pages import REGISTER_LIMIT_PER_IP
from tests.mail.smtp_server import SmtpRecorder, smtp_server

MEMBER, STRANGER = "ada@example.org", "nobody@example.org"
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


@pytest.fixture
def recorder(engine: Engine, monkeypatch: pytest.MonkeyPatch) -> Iterator[SmtpRecorder]:
    accounts.register(engine, "ada", MEMBER, "correct horse battery staple")
    with smtp_server() as (recorder, port):
        monkeypatch.setenv("PAPERFEED_SMTP_URL", f"smtp://127.0.0.1:{port}?timeout=10")
        config.get_settings.cache_clear()
        yield recorder


@pytest.fixture
def client(recorder: SmtpRecorder) -> Iterator[TestClient]:
    with TestClient(create_app()) as client:
        yield client


def subscribe_form(client: TestClient, email: str) -> tuple[int, str]:
    match = CSRF.search(client.get("/").text)
    assert match
    form = {"email": email, "kind": "for_you", "csrf_token": match[1]}
    response = client.post("/subscribe", data=form)
    return response.status_code, response.text.replace(email, "ADDRESS")


def test_a_for_you_subscription_answers_the_same_with_or_without_an_account(
    engine: Engine, client: TestClient, recorder: SmtpRecorder
) -> None:
    assert subscribe_form(client, MEMBER) == subscribe_form(client, STRANGER)
    assert subscribe_form(client, MEMBER)[0] == 200
    api = [
        client.post("/api/subscriptions", json={"email": email, "for_you": True})
        for email in (MEMBER, STRANGER)
    ]
    assert [r.status_code for r in api] == [202, 202]
    assert api[0].json() == api[1].json()
    # The owner of each address learns the truth, by mail: a confirmation, or why there is none.
    [member] = {r.message["Subject"] for r in recorder.accepted_for(MEMBER)}
    [stranger] = {r.message["Subject"] for r in recorder.accepted_for(STRANGER)}
    assert member == "Confirm your paperfeed subscription"
    assert "needs an account" in stranger
    text = recorder.accepted_for(STRANGER)[0].message.get_content()
    assert "/register" in text and "nothing was subscribed" in text
    assert [(s.email, s.kind) for s in subs.list_subscriptions(engine)] == [(MEMBER, "for_you")]


def test_a_suppressed_address_gets_no_account_notice(
    engine: Engine, client: TestClient, recorder: SmtpRecorder
) -> None:
    with write_transaction(engine) as conn:
        suppress(conn, STRANGER, "complaint", "", datetime.now(UTC))
    response = client.post("/api/subscriptions", json={"email": STRANGER, "for_you": True})
    assert response.status_code == 202
    assert recorder.accepted_for(STRANGER) == []


def test_operators_still_get_a_clear_error(engine: Engine, recorder: SmtpRecorder) -> None:
    with pytest.raises(subs.NoAccount, match="need an account") as missing:
        subs.subscribe(engine, STRANGER, "daily", "for_you")
    assert missing.value.notify


def test_probing_addresses_by_registering_costs_an_attempt_each(
    engine: Engine, recorder: SmtpRecorder
) -> None:
    # Register says an address is taken (docs/accounts.md says why); every probe, refused or
    # not, counts against the client's daily registrations.
    with TestClient(create_app(), base_url="https://testserver", follow_redirects=False) as client:
        token = CSRF.search(client.get("/register").text)
        assert token
        statuses = []
        for attempt in range(REGISTER_LIMIT_PER_IP + 1):
            form = {
                "username": f"prober{attempt}",
                "email": MEMBER if attempt < REGISTER_LIMIT_PER_IP else "fresh@example.org",
                "password": "correct horse battery staple",
                "csrf_token": token[1],
            }
            statuses.append(client.post("/register", data=form).status_code)
    assert statuses == [400] * REGISTER_LIMIT_PER_IP + [429]
