"""RELIABILITY 11: DSN / ARF reports move each address through Warehouse's states.

Hard bounce or complaint → suppressed; more than SOFT_BOUNCE_LIMIT soft bounces in a row →
suppressed; a delivery resets the count. The stateful test compares the database with a model
after every step of random report sequences, on both backends.
"""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import HealthCheck
from hypothesis import settings as hsettings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    rule,
    run_state_machine_as_test,
)
from sqlalchemy import Engine, delete, select

from paperfeed import services
from paperfeed.config import Settings
from paperfeed.mail import outbox
from paperfeed.mail.bounces import BounceReportError, feed_report, parse_report, unsuppress
from paperfeed.mail.transport import make_sender
from paperfeed.store.engine import write_transaction
from paperfeed.store.mail_schema import mail_events, subscribers, suppressions
from tests.conftest import REPO
from tests.mail.conftest import Smtp, confirmed, store_papers

BOUNDARY = "==bounce=="


def dsn(recipient: str, action: str, status: str, diagnostic: str = "") -> bytes:
    """A delivery status notification as an MTA writes it (RFC 3464)."""
    diag = f"Diagnostic-Code: smtp; {diagnostic}\r\n" if diagnostic else ""
    return (
        "From: MAILER-DAEMON@mx.example.net\r\n"
        "To: digest@papers.example.org\r\n"
        "Subject: Delivery Status Notification\r\n"
        "MIME-Version: 1.0\r\n"
        f'Content-Type: multipart/report; report-type=delivery-status; boundary="{BOUNDARY}"\r\n'
        "\r\n"
        f"--{BOUNDARY}\r\n"
        "Content-Type: text/plain\r\n\r\n"
        "This is the mail system at host mx.example.net.\r\n\r\n"
        f"--{BOUNDARY}\r\n"
        "Content-Type: message/delivery-status\r\n\r\n"
        "Reporting-MTA: dns; mx.example.net\r\n"
        "Arrival-Date: Wed, 25 Nov 2026 07:00:00 +0000\r\n\r\n"
        f"Final-Recipient: rfc822; {recipient}\r\n"
        f"Action: {action}\r\n"
        f"Status: {status}\r\n"
        f"{diag}\r\n"
        f"--{BOUNDARY}\r\n"
        "Content-Type: text/rfc822-headers\r\n\r\n"
        "Message-ID: <digest.1.2026-11-25@papers.example.org>\r\n\r\n"
        f"--{BOUNDARY}--\r\n"
    ).encode()


def complaint(recipient: str) -> bytes:
    """An ARF abuse report (RFC 5965), as a mailbox provider's feedback loop sends it."""
    return (
        "From: fbl@provider.example\r\n"
        "MIME-Version: 1.0\r\n"
        f'Content-Type: multipart/report; report-type=feedback-report; boundary="{BOUNDARY}"\r\n'
        "\r\n"
        f"--{BOUNDARY}\r\n"
        "Content-Type: text/plain\r\n\r\n"
        "This is an email abuse report.\r\n\r\n"
        f"--{BOUNDARY}\r\n"
        "Content-Type: message/feedback-report\r\n\r\n"
        "Feedback-Type: abuse\r\n"
        "User-Agent: provider-fbl/1.0\r\n"
        "Version: 1\r\n"
        f"Original-Rcpt-To: {recipient}\r\n\r\n"
        f"--{BOUNDARY}--\r\n"
    ).encode()


def test_parse_hard_soft_delivered_and_complaint() -> None:
    [hard] = parse_report(dsn("A@Example.org", "failed", "5.1.1", "550 5.1.1 user unknown"))
    assert (hard.email, hard.kind) == ("a@example.org", "hard_bounce")
    assert "user unknown" in hard.detail
    [soft] = parse_report(dsn("a@example.org", "delayed", "4.2.2", "452 mailbox full"))
    assert soft.kind == "soft_bounce"
    [failed_4xx] = parse_report(dsn("a@example.org", "failed", "4.4.7"))
    assert failed_4xx.kind == "soft_bounce"
    [ok] = parse_report(dsn("a@example.org", "delivered", "2.0.0"))
    assert ok.kind == "delivery"
    [abuse] = parse_report(complaint("b@example.org"))
    assert (abuse.email, abuse.kind) == ("b@example.org", "complaint")


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"Subject: hi\r\n\r\nplain mail",
        b"Content-Type: multipart/report; report-type=disposition-notification; "
        b'boundary="b"\r\n\r\n--b--',
        b'Content-Type: multipart/report; report-type=delivery-status; boundary="b"\r\n\r\n--b--',
    ],
)
def test_other_messages_are_refused_clearly(data: bytes) -> None:
    with pytest.raises(BounceReportError):
        parse_report(data)


def _state(engine: Engine, email: str) -> tuple[bool, int]:
    with engine.connect() as conn:
        suppressed = conn.execute(
            select(suppressions.c.email).where(suppressions.c.email == email)
        ).first()
        count = conn.execute(
            select(subscribers.c.soft_bounces).where(subscribers.c.email == email)
        ).scalar()
    return suppressed is not None, int(count or 0)


ADDRESSES = ("one@example.org", "two@example.org")


def test_warehouse_state_machine(engine: Engine, settings: Settings) -> None:
    limit = settings.soft_bounce_limit
    for email in ADDRESSES:
        confirmed(engine, email)

    class Bounces(RuleBasedStateMachine):
        @initialize()
        def reset(self) -> None:
            with write_transaction(engine) as conn:
                conn.execute(delete(suppressions))
                conn.execute(delete(mail_events))
                conn.execute(subscribers.update().values(soft_bounces=0))
            self.suppressed = {e: False for e in ADDRESSES}
            self.soft = {e: 0 for e in ADDRESSES}

        @rule(email=st.sampled_from(ADDRESSES))
        def hard_bounce(self, email: str) -> None:
            feed_report(engine, dsn(email, "failed", "5.1.1"), limit)
            self.suppressed[email] = True

        @rule(email=st.sampled_from(ADDRESSES))
        def complaint(self, email: str) -> None:
            feed_report(engine, complaint(email), limit)
            self.suppressed[email] = True

        @rule(email=st.sampled_from(ADDRESSES))
        def soft_bounce(self, email: str) -> None:
            feed_report(engine, dsn(email, "delayed", "4.2.2"), limit)
            self.soft[email] += 1
            if self.soft[email] > limit:
                self.suppressed[email] = True

        @rule(email=st.sampled_from(ADDRESSES))
        def delivery(self, email: str) -> None:
            feed_report(engine, dsn(email, "delivered", "2.0.0"), limit)
            self.soft[email] = 0

        @invariant()
        def database_matches_the_model(self) -> None:
            for email in ADDRESSES:
                assert _state(engine, email) == (self.suppressed[email], self.soft[email])
            active = sum(1 for e in ADDRESSES if not self.suppressed[e])
            assert services.stats(engine).subscribers == active

    run_state_machine_as_test(
        Bounces,
        settings=hsettings(
            max_examples=25,
            stateful_step_count=12,
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
        ),
    )


def test_suppressed_address_gets_no_digest_until_unsuppressed(
    engine: Engine, settings: Settings, smtp: Smtp
) -> None:
    now = datetime.now(UTC)
    store_papers(engine, 5, first_seen=now - timedelta(hours=1))
    confirmed(engine, "hard@example.org")
    feed_report(engine, dsn("hard@example.org", "failed", "5.1.1"), settings.soft_bounce_limit)
    assert outbox.enqueue(engine, settings, "daily", now).created == 0
    assert unsuppress(engine, "hard@example.org")
    assert outbox.enqueue(engine, settings, "daily", now).created == 1
    assert outbox.send_due(engine, settings, make_sender(settings), lambda: now).sent == 1


def test_bounces_command(engine: Engine, settings: Settings, tmp_path: Path) -> None:
    confirmed(engine, "cli@example.org")
    report = tmp_path / "bounce.eml"
    report.write_bytes(dsn("cli@example.org", "failed", "5.1.1"))
    junk = tmp_path / "junk.eml"
    junk.write_bytes(b"Subject: not a report\r\n\r\nhello")
    done = subprocess.run(
        [sys.executable, "-m", "paperfeed", "bounces", str(report)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert "cli@example.org: hard_bounce -> suppressed" in done.stdout
    assert _state(engine, "cli@example.org")[0]
    bad = subprocess.run(
        [sys.executable, "-m", "paperfeed", "bounces", str(junk), str(tmp_path / "missing.eml")],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert bad.returncode == 1
    assert "expected a multipart/report" in bad.stderr and "Traceback" not in bad.stderr


def test_a_suppressed_address_is_not_even_sent_a_confirmation(
    engine: Engine, settings: Settings, smtp: Smtp
) -> None:
    from paperfeed.mail import subscriptions as subs

    with write_transaction(engine) as conn:
        outbox.suppress(conn, "complained@example.org", "complaint", "abuse", datetime.now(UTC))
    sub, needs_confirmation = subs.subscribe(engine, "complained@example.org", "daily")
    assert not needs_confirmation and sub.status == "pending"
    done = subprocess.run(
        [sys.executable, "-m", "paperfeed", "subscribers", "add", "complained@example.org"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 1 and "suppressed" in done.stderr
    assert smtp.recorder.seen == []
