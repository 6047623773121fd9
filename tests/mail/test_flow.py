"""Subscribe → confirm → digest → one-click unsubscribe, through the site and a real SMTP server.

RELIABILITY 5 (headers), 6 (one-click), 7 (GET never changes anything), 10 (double opt-in).
Both database backends (``engine``).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from urllib.parse import urlsplit

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, select

from paperfeed import services
from paperfeed.config import Settings
from paperfeed.mail import outbox
from paperfeed.mail import subscriptions as subs
from paperfeed.mail.transport import make_sender, transactional_from
from paperfeed.store.mail_schema import outbox as outbox_table
from paperfeed.web.app import create_app
from tests.mail.conftest import BASE_URL, Smtp, confirmed, store_papers

CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


@pytest.fixture
def client(settings: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(settings)) as client:
        yield client


def csrf_of(client: TestClient) -> str:
    match = CSRF.search(client.get("/").text)
    assert match, "the subscribe box carries a CSRF token"
    return match.group(1)


def links_in(text: str) -> list[str]:
    return re.findall(r"https?://[^\s\"<>]+", text)


def send(engine: Engine, settings: Settings, frequency: str = "daily") -> outbox.SendReport:
    outbox.enqueue(engine, settings, frequency)
    return outbox.send_due(engine, settings, make_sender(settings))


def assert_digest_headers(message: EmailMessage, settings: Settings) -> str:
    """RELIABILITY 5; returns the List-Unsubscribe URL."""
    header = str(message["List-Unsubscribe"])
    assert header.startswith("<https://") and header.endswith(">")
    url = header[1:-1]
    assert url.startswith(BASE_URL + "/unsubscribe/")
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert message["List-Id"] and "<" in str(message["List-Id"])
    assert re.fullmatch(r"<digest\.\d+\.[\w-]+@[\w.-]+>", str(message["Message-ID"]))
    assert message["Date"] is not None
    assert message["From"] != transactional_from(settings)
    text = message.get_body(("plain",))
    html = message.get_body(("html",))
    assert text is not None and html is not None
    for part in (text.get_content(), html.get_content()):
        assert url in part.replace("&amp;", "&"), "a visible unsubscribe link in each part"
        assert "/preferences/" in part
    return url


def test_subscribe_confirm_digest_unsubscribe(
    engine: Engine, settings: Settings, smtp: Smtp, client: TestClient
) -> None:
    store_papers(engine, 15, first_seen=datetime.now(UTC) - timedelta(hours=3))
    response = client.post(
        "/subscribe",
        data={"email": "Reader@Example.org", "frequency": "daily", "csrf_token": csrf_of(client)},
    )
    assert response.status_code == 200
    assert "Check your inbox" in response.text

    # RELIABILITY 10: only the confirmation goes out before confirming, as transactional mail.
    [confirmation] = smtp.recorder.accepted()
    mail = confirmation.message
    assert confirmation.rcpt == "reader@example.org"
    assert mail["From"] == transactional_from(settings)
    assert mail["List-Id"] is None and mail["List-Unsubscribe"] is None
    [confirm_link] = {
        u for u in links_in(mail.get_body(("plain",)).get_content()) if "/confirm/" in u
    }
    assert confirm_link.startswith(BASE_URL + "/confirm/")
    assert send(engine, settings).sent == 0
    assert len(smtp.recorder.accepted()) == 1

    # A GET shows a button and changes nothing (link scanners).
    path = urlsplit(confirm_link).path
    page = client.get(path)
    assert page.status_code == 200 and 'method="post"' in page.text
    assert subs.list_subscriptions(engine)[0].status == "pending"
    token = CSRF.search(page.text).group(1)  # type: ignore[union-attr]
    done = client.post(path, data={"csrf_token": token})
    assert done.status_code == 200 and "You are subscribed" in done.text
    assert subs.list_subscriptions(engine)[0].status == "active"
    # A second click (mail clients open links twice) says so; it changes nothing.
    again = client.post(path, data={"csrf_token": token})
    assert again.status_code == 200 and "You are subscribed" in again.text
    assert client.get(path).status_code == 200 and "You are subscribed" in client.get(path).text
    assert services.stats(engine).subscribers == 1

    report = send(engine, settings)
    assert report.sent == 1
    digest = smtp.recorder.accepted()[-1].message
    unsubscribe_url = assert_digest_headers(digest, settings)
    assert digest["To"] == "reader@example.org"
    text = digest.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    assert text.count("https://arxiv.org/abs/") == 10, "the top digest_max_papers papers"

    # Sending again in the same period sends nothing new (RELIABILITY 3).
    assert send(engine, settings).sent == 0
    assert len(smtp.recorder.accepted()) == 2

    # RELIABILITY 7: GET the unsubscribe URL: a form, nothing changes.
    unsubscribe_path = urlsplit(unsubscribe_url).path
    page = client.get(unsubscribe_path)
    assert page.status_code == 200 and "<form" in page.text and 'method="post"' in page.text
    assert subs.list_subscriptions(engine)[0].status == "active"

    # RELIABILITY 6: one-click, no cookie, no Origin, no Sec-Fetch-*: 200, no Location.
    with TestClient(create_app(settings)) as bare:
        for _ in range(2):
            response = bare.post(
                unsubscribe_path,
                content=b"List-Unsubscribe=One-Click",
                headers={"Content-Type": "application/x-www-form-urlencoded"},
                follow_redirects=False,
            )
            assert response.status_code == 200
            assert "location" not in response.headers
            assert not bare.cookies
    assert subs.list_subscriptions(engine)[0].status == "unsubscribed"
    assert services.stats(engine).subscribers == 0


def test_get_of_every_link_changes_nothing(
    engine: Engine, settings: Settings, client: TestClient
) -> None:
    """RELIABILITY 7 for confirm, unsubscribe and preferences links."""
    sub, _ = subs.subscribe(engine, "scan@example.org", "daily")
    urls = [
        subs.confirm_url(settings, sub),
        subs.unsubscribe_url(settings, sub.pk),
        subs.preferences_url(settings, sub.pk),
    ]
    before = subs.list_subscriptions(engine)
    for url in urls:
        response = client.get(urlsplit(url).path)
        assert response.status_code == 200
        assert 'method="post"' in response.text
    assert subs.list_subscriptions(engine) == before


def test_confirm_link_expires_and_is_replaced_by_a_new_one(
    engine: Engine, settings: Settings
) -> None:
    """RELIABILITY 10 with a frozen clock: 3 days, then refused; a resend voids the old link."""
    start = datetime(2026, 1, 5, 12, tzinfo=UTC)
    sub, _ = subs.subscribe(engine, "late@example.org", "weekly", now=start)
    token = subs.confirm_url(settings, sub, start).rsplit("/", 1)[1]
    with pytest.raises(subs.SubscriptionError, match="expired"):
        subs.confirm(engine, settings, token, now=start + timedelta(days=3, seconds=1))
    again, needs = subs.subscribe(engine, "late@example.org", "weekly", now=start)
    assert needs
    with pytest.raises(subs.SubscriptionError, match="already used or replaced"):
        subs.confirm(engine, settings, token, now=start + timedelta(days=1))
    with pytest.raises(subs.SubscriptionError, match="already used or replaced"):  # its page too
        later = start + timedelta(days=1)
        subs.subscription_for(engine, settings, token, "confirm", now=later)
    fresh = subs.confirm_url(settings, again, start).rsplit("/", 1)[1]
    assert subs.confirm(engine, settings, fresh, now=start + timedelta(days=2, hours=23)).active
    with pytest.raises(subs.SubscriptionError):
        subs.confirm(engine, settings, fresh, now=start + timedelta(days=2, hours=23))


def test_preferences_change_frequency_and_topic(
    engine: Engine, settings: Settings, client: TestClient
) -> None:
    sub = confirmed(engine, "topic@example.org", "daily", "topic", "graph neural networks")
    path = urlsplit(subs.preferences_url(settings, sub.pk)).path
    page = client.get(path)
    token = CSRF.search(page.text).group(1)  # type: ignore[union-attr]
    response = client.post(
        path, data={"csrf_token": token, "frequency": "weekly", "topic": "diffusion -video"}
    )
    assert response.status_code == 200 and "Saved" in response.text
    [changed] = subs.list_subscriptions(engine)
    assert (changed.frequency, changed.query) == ("weekly", "diffusion -video")
    bad = client.post(path, data={"csrf_token": token, "frequency": "hourly", "topic": "x"})
    assert bad.status_code == 400
    forged = client.post(path, data={"csrf_token": "nope", "frequency": "daily", "topic": "x"})
    assert forged.status_code == 403


def test_subscribe_rejects_bad_input_and_caps_requests(
    engine: Engine, settings: Settings, smtp: Smtp, client: TestClient
) -> None:
    token = csrf_of(client)
    bad = client.post("/subscribe", data={"email": "not an address", "csrf_token": token})
    assert bad.status_code == 400 and "not an email address" in bad.text
    header_injection = client.post(
        "/subscribe", data={"email": "a@b.org\r\nBcc: x@y.org", "csrf_token": token}
    )
    assert header_injection.status_code == 400
    no_token = client.post("/subscribe", data={"email": "a@example.org"})
    assert no_token.status_code == 403
    codes = [
        client.post(
            "/subscribe", data={"email": "cap@example.org", "csrf_token": token}
        ).status_code
        for _ in range(settings.subscribe_daily_cap + 1)
    ]
    assert codes[:-1] == [200] * settings.subscribe_daily_cap
    assert codes[-1] == 429
    # The same page for a new and an already-pending address; each asks for a confirmation.
    assert all(r.rcpt == "cap@example.org" for r in smtp.recorder.accepted())


def test_digest_preview_page_is_public_trending_data(
    engine: Engine, settings: Settings, client: TestClient
) -> None:
    ids = store_papers(engine, 5, first_seen=datetime.now(UTC) - timedelta(hours=1))
    response = client.get("/digest/preview?kind=trending&frequency=daily")
    assert response.status_code == 200
    assert f"/papers/{ids[0]}" in response.text
    assert client.get("/digest/preview?kind=for_you").status_code == 400
    assert client.get("/digest/preview?frequency=hourly").status_code == 400
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(outbox_table)).scalar() == 0


def test_a_search_page_subscribes_to_its_query_as_a_topic_digest(
    engine: Engine, client: TestClient
) -> None:
    store_papers(engine, 30)
    page = client.get("/search", params={"q": "learning", "cat": "cs.LG", "from": "2020-01-01"})
    assert page.status_code == 200
    form = re.search(r'<form class="topic-subscribe".*?</form>', page.text, re.S)
    assert form is not None, "results offer to email new papers for this search"
    # The filters stay, the date range does not: a standing digest would end with it.
    topic = re.search(r'name="topic" value="([^"]*)"', form.group(0))
    assert topic is not None and topic.group(1) == "learning cat:cs.LG"
    answer = client.post(
        "/subscribe",
        data={"email": "topic@example.org", "frequency": "weekly", "kind": "topic",
              "topic": topic.group(1), "csrf_token": csrf_of(client)},
    )  # fmt: skip
    assert answer.status_code == 200
    [sub] = subs.list_subscriptions(engine, "topic@example.org")
    assert (sub.kind, sub.query, sub.frequency) == ("topic", "learning cat:cs.LG", "weekly")
    assert "topic-subscribe" not in client.get("/search").text  # nothing searched yet


def test_api_subscribe_sends_a_confirmation_and_answers_json(
    engine: Engine, settings: Settings, smtp: Smtp, client: TestClient
) -> None:
    response = client.post(
        "/api/subscriptions",
        json={"email": "API@example.org", "frequency": "weekly", "topic": "quantum -error"},
    )
    assert response.status_code == 202 and response.json()["status"] == "pending"
    [sub] = subs.list_subscriptions(engine)
    assert (sub.email, sub.kind, sub.query, sub.frequency, sub.status) == (
        "api@example.org",
        "topic",
        "quantum -error",
        "weekly",
        "pending",
    )
    assert [r.rcpt for r in smtp.recorder.accepted()] == ["api@example.org"]
    bad = client.post("/api/subscriptions", json={"email": "nope"})
    assert bad.status_code == 400 and bad.json()["status"] == "error"
    assert (
        client.post(
            "/api/subscriptions", json={"email": "a@b.org", "frequency": "hourly"}
        ).status_code
        == 422
    )
    both = {"email": "b@example.org", "topic": "graphs", "for_you": True}
    assert client.post("/api/subscriptions", json=both).status_code == 400
    nul = client.post("/api/subscriptions", json={"email": "n@example.org", "topic": "a\x00b"})
    assert nul.status_code == 400, "PostgreSQL cannot store NUL: refused cleanly, not a 500"
    assert "/api/subscriptions" in client.get("/openapi.json").json()["paths"]


def test_subscribing_an_active_address_changes_nothing_and_sends_nothing(
    engine: Engine, settings: Settings, smtp: Smtp, client: TestClient
) -> None:
    confirmed(engine, "owner@example.org", frequency="weekly")
    response = client.post(
        "/subscribe",
        data={"email": "owner@example.org", "frequency": "daily", "csrf_token": csrf_of(client)},
    )
    assert response.status_code == 200 and "Check your inbox" in response.text
    [sub] = subs.list_subscriptions(engine)
    assert (sub.frequency, sub.status) == ("weekly", "active")
    assert smtp.recorder.seen == []
