"""RELIABILITY 8: mail links cannot be forged, altered, or used for another purpose."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st
from sqlalchemy import Engine

from paperfeed.config import Settings
from paperfeed.mail import subscriptions as subs
from paperfeed.mail.tokens import TokenError, make_token, read_token
from paperfeed.web.app import create_app
from tests.mail.conftest import confirmed

SECRET = "k" * 40
NOW = datetime(2026, 6, 1, tzinfo=UTC)
GOOD = make_token(SECRET, "unsubscribe", 42, 0, NOW)
ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.=+/ %"


@st.composite
def mutated(draw: st.DrawFn) -> str:
    token = GOOD
    for _ in range(draw(st.integers(1, 4))):
        op = draw(st.sampled_from(["replace", "insert", "delete", "truncate", "swap"]))
        i = draw(st.integers(0, max(0, len(token) - 1)))
        char = draw(st.sampled_from(ALPHABET))
        if op == "replace":
            token = token[:i] + char + token[i + 1 :]
        elif op == "insert":
            token = token[:i] + char + token[i:]
        elif op == "delete":
            token = token[:i] + token[i + 1 :]
        elif op == "truncate":
            token = token[:i]
        elif len(token) > i + 1:
            token = token[:i] + token[i + 1] + token[i] + token[i + 2 :]
    return token


@given(mutated())
@hsettings(max_examples=500, suppress_health_check=[HealthCheck.too_slow])
def test_mutated_tokens_are_refused(token: str) -> None:
    if token == GOOD:
        return
    with pytest.raises(TokenError):
        read_token(SECRET, token, "unsubscribe", NOW)


@given(st.text(max_size=300))
def test_arbitrary_strings_are_refused_cleanly(token: str) -> None:
    with pytest.raises(TokenError):
        read_token(SECRET, token, "unsubscribe", NOW)


def test_the_genuine_token_works_and_names_its_subscription() -> None:
    assert read_token(SECRET, GOOD, "unsubscribe", NOW).subscription_pk == 42


def test_purpose_key_and_expiry_are_all_checked() -> None:
    confirm = make_token(SECRET, "confirm", 42, 1, NOW)
    for purpose in ("unsubscribe", "preferences"):
        with pytest.raises(TokenError):
            read_token(SECRET, confirm, purpose, NOW)  # type: ignore[arg-type]
    with pytest.raises(TokenError):
        read_token("another key" * 4, GOOD, "unsubscribe", NOW)
    with pytest.raises(TokenError, match="expired"):
        read_token(SECRET, confirm, "confirm", NOW + timedelta(days=3))
    # Another subscription's payload under this one's signature: refused.
    other = make_token(SECRET, "unsubscribe", 43, 0, NOW)
    spliced = other.split(".")[0] + "." + GOOD.split(".")[1]
    with pytest.raises(TokenError):
        read_token(SECRET, spliced, "unsubscribe", NOW)


def test_over_http_a_confirm_token_cannot_unsubscribe_and_bad_tokens_get_400(
    engine: Engine, settings: Settings
) -> None:
    sub = confirmed(engine, "victim@example.org")
    other = confirmed(engine, "other@example.org")
    confirm_token = subs.confirm_url(settings, sub).rsplit("/", 1)[1]
    preferences_token = urlsplit(subs.preferences_url(settings, sub.pk)).path.rsplit("/", 1)[1]
    with TestClient(create_app(settings)) as client:
        for token in (confirm_token, preferences_token, "garbage", "a.b", "x" * 5000):
            response = client.post(f"/unsubscribe/{token}", content=b"List-Unsubscribe=One-Click")
            assert response.status_code in (400, 404), token[:20]
            assert client.get(f"/unsubscribe/{token}").status_code in (400, 404)
        # The other user's own token only ever touches the other user.
        own = urlsplit(subs.unsubscribe_url(settings, other.pk)).path
        assert client.post(own, content=b"List-Unsubscribe=One-Click").status_code == 200
    states = {s.email: s.status for s in subs.list_subscriptions(engine)}
    assert states == {"victim@example.org": "active", "other@example.org": "unsubscribed"}


def test_links_of_a_removed_subscriber_never_reach_the_next_one(
    engine: Engine, settings: Settings
) -> None:
    """SQLite gives a deleted last row's key to the next row: an old link must not follow it."""
    start = datetime.now(UTC) - timedelta(hours=1)
    mo, _ = subs.subscribe(engine, "mo@example.org", "daily", now=start)
    links = {
        "confirm": subs.confirm_url(settings, mo, start),
        "preferences": subs.preferences_url(settings, mo.pk, start),
        "unsubscribe": subs.unsubscribe_url(settings, mo.pk, start),
    }
    subs.remove_subscriber(engine, "mo@example.org")
    nina, _ = subs.subscribe(engine, "nina@example.org", "daily")
    for purpose, url in links.items():
        token = urlsplit(url).path.rsplit("/", 1)[1]
        with pytest.raises(subs.SubscriptionError, match="no longer exists"):
            subs.subscription_for(engine, settings, token, purpose)  # type: ignore[arg-type]
    with pytest.raises(subs.SubscriptionError):
        subs.confirm(engine, settings, urlsplit(links["confirm"]).path.rsplit("/", 1)[1])
    with TestClient(create_app(settings)) as client:
        unsubscribe = urlsplit(links["unsubscribe"]).path
        assert client.post(unsubscribe, content=b"List-Unsubscribe=One-Click").status_code == 400
    [state] = subs.list_subscriptions(engine)
    assert (state.email, state.status) == ("nina@example.org", "pending")
    # Her own link, made after her row, works.
    assert subs.confirm(engine, settings, subs.confirm_url(settings, nina).rsplit("/", 1)[1])
