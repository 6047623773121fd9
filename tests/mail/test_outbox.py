"""The outbox against a real SMTP server: RELIABILITY 3 (no duplicates without a crash),
4 (retry policy), 9 (suppression at send time), and the digest's content rules (no repeats,
one catch-up). Both database backends.
"""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine, select, update

from paperfeed.config import Settings
from paperfeed.mail import outbox
from paperfeed.mail import subscriptions as subs
from paperfeed.mail.digest import period_of
from paperfeed.mail.transport import make_sender
from paperfeed.store.engine import write_transaction
from paperfeed.store.mail_schema import digest_history, suppressions
from paperfeed.store.mail_schema import outbox as outbox_table
from paperfeed.store.schema import papers
from tests.mail.conftest import Smtp, confirmed, set_upvotes, store_papers


def run(
    engine: Engine, settings: Settings, now: datetime, frequency: str = "daily"
) -> outbox.SendReport:
    outbox.enqueue(engine, settings, frequency, now)
    return outbox.send_due(engine, settings, make_sender(settings), lambda: now)


def rows(engine: Engine) -> list[dict[str, object]]:
    with engine.connect() as conn:
        return [
            dict(r._mapping) for r in conn.execute(select(outbox_table).order_by(outbox_table.c.pk))
        ]


def test_back_to_back_runs_send_one_message_per_user(
    engine: Engine, settings: Settings, smtp: Smtp
) -> None:
    """RELIABILITY 3: N runs in a row; the server sees one message per user (by Message-ID)."""
    now = datetime.now(UTC)
    store_papers(engine, 20, first_seen=now - timedelta(hours=2))
    emails = [f"user{i}@example.org" for i in range(12)]
    for email in emails:
        confirmed(engine, email)
    for _ in range(4):
        run(engine, settings, now)
    accepted = smtp.recorder.accepted()
    by_id = Counter(r.message_id for r in accepted)
    assert len(by_id) == len(emails) and set(by_id.values()) == {1}
    assert sorted(r.rcpt for r in accepted) == sorted(emails)
    assert [r["status"] for r in rows(engine)] == ["sent"] * len(emails)


def test_451_is_retried_with_backoff_then_sent(
    engine: Engine, settings: Settings, smtp: Smtp
) -> None:
    """RELIABILITY 4: 451 then 250: retried later (not at once), same Message-ID."""
    now = datetime.now(UTC)
    store_papers(engine, 5, first_seen=now - timedelta(hours=2))
    confirmed(engine, "slow@example.org")
    smtp.recorder.script["slow@example.org"] = ["451 4.3.0 try again later"]
    first = run(engine, settings, now)
    assert (first.sent, first.retried) == (0, 1)
    [row] = rows(engine)
    assert row["status"] == "queued" and row["attempts"] == 1
    retry_at = row["next_attempt_at"]
    assert isinstance(retry_at, datetime)
    assert retry_at.replace(tzinfo=UTC) >= now + outbox.backoff(1) - timedelta(seconds=1)
    assert run(engine, settings, now + timedelta(seconds=30)).sent == 0, "not before the backoff"
    later = run(engine, settings, now + outbox.backoff(1) + timedelta(seconds=1))
    assert later.sent == 1
    seen = [r for r in smtp.recorder.seen if r.rcpt == "slow@example.org"]
    assert [r.reply[:3] for r in seen] == ["451", "250"]
    assert seen[0].message_id == seen[1].message_id
    assert rows(engine)[0]["status"] == "sent"


def test_550_fails_the_row_and_suppresses_the_address(
    engine: Engine, settings: Settings, smtp: Smtp
) -> None:
    now = datetime.now(UTC)
    store_papers(engine, 5, first_seen=now - timedelta(hours=2))
    confirmed(engine, "gone@example.org")
    smtp.recorder.default = "550 5.1.1 no such user"
    report = run(engine, settings, now)
    assert (report.failed, report.sent) == (1, 0)
    [row] = rows(engine)
    assert (row["status"], row["attempts"]) == ("failed", 1)
    with engine.connect() as conn:
        reason = conn.execute(select(suppressions.c.reason)).scalar_one()
    assert reason == "smtp_5xx"
    smtp.recorder.default = "250 OK"
    # The next days: a suppressed address gets no digest and counts as no subscriber.
    store_papers(engine, 5, start=5, first_seen=now + timedelta(hours=12))
    assert run(engine, settings, now + timedelta(days=1)).sent == 0
    assert len(rows(engine)) == 1
    assert len(smtp.recorder.seen) == 1


def test_temporary_failures_stop_after_max_attempts(
    engine: Engine, settings: Settings, smtp: Smtp
) -> None:
    now = datetime.now(UTC)
    store_papers(engine, 5, first_seen=now - timedelta(hours=2))
    confirmed(engine, "busy@example.org")
    smtp.recorder.default = "421 4.7.0 busy, closing"
    clock = now
    for _ in range(outbox.MAX_ATTEMPTS + 3):
        run(engine, settings, clock)
        clock += outbox.BACKOFF_MAX + timedelta(minutes=1)
    [row] = [r for r in rows(engine) if r["period"] == period_of("daily", now)]
    assert (row["status"], row["attempts"]) == ("failed", outbox.MAX_ATTEMPTS)
    first_period = [
        r for r in smtp.recorder.seen if "." + period_of("daily", now) + "@" in r.message_id
    ]
    assert len(first_period) == outbox.MAX_ATTEMPTS


def test_dropped_connection_after_data_is_retried_with_the_same_message_id(
    engine: Engine, settings: Settings, smtp: Smtp
) -> None:
    """The server may have kept a message it never acknowledged: the retry is a recognisable
    duplicate (same Message-ID), never a lost digest."""
    now = datetime.now(UTC)
    store_papers(engine, 5, first_seen=now - timedelta(hours=2))
    confirmed(engine, "flaky@example.org")
    smtp.recorder.script["flaky@example.org"] = ["drop"]
    assert run(engine, settings, now).retried == 1
    assert run(engine, settings, now + outbox.backoff(1) + timedelta(seconds=1)).sent == 1
    got = smtp.recorder.accepted_for("flaky@example.org")
    assert len(got) == 2 and got[0].message_id == got[1].message_id


def test_unsubscribe_or_suppression_after_queueing_stops_the_mail(
    engine: Engine, settings: Settings, smtp: Smtp
) -> None:
    """RELIABILITY 9: rows already queued are checked again at send time."""
    now = datetime.now(UTC)
    store_papers(engine, 5, first_seen=now - timedelta(hours=2))
    leaving = confirmed(engine, "leaving@example.org")
    confirmed(engine, "bounced@example.org")
    confirmed(engine, "staying@example.org")
    assert outbox.enqueue(engine, settings, "daily", now).created == 3
    token = subs.unsubscribe_url(settings, leaving.pk).rsplit("/", 1)[1]
    subs.unsubscribe(engine, settings, token)
    with write_transaction(engine) as conn:
        outbox.suppress(conn, "bounced@example.org", "hard_bounce", "test", now)
    report = outbox.send_due(engine, settings, make_sender(settings), lambda: now)
    assert (report.sent, report.skipped) == (1, 2)
    assert [r.rcpt for r in smtp.recorder.seen] == ["staying@example.org"]
    statuses = {r["email"]: r["status"] for r in rows(engine)}
    assert statuses == {
        "leaving@example.org": "skipped",
        "bounced@example.org": "skipped",
        "staying@example.org": "sent",
    }


def test_a_paper_hidden_after_queueing_leaves_the_mail(
    engine: Engine, settings: Settings, smtp: Smtp
) -> None:
    now = datetime.now(UTC)
    ids = store_papers(engine, 5, first_seen=now - timedelta(hours=2))
    confirmed(engine, "reader@example.org")
    assert outbox.enqueue(engine, settings, "daily", now).created == 1
    with write_transaction(engine) as conn:  # a moderator hides one, the digest still queued
        conn.execute(update(papers).where(papers.c.id == ids[0]).values(hidden_at=now))
    assert outbox.send_due(engine, settings, make_sender(settings), lambda: now).sent == 1
    text = smtp.recorder.accepted()[0].message.get_body(("plain",)).get_content()
    assert ids[0] not in text and ids[1] in text


def test_digests_never_repeat_a_paper_and_rank_by_upvotes(
    engine: Engine, settings: Settings, smtp: Smtp
) -> None:
    day1 = datetime(2026, 3, 2, 8, tzinfo=UTC)
    ids = store_papers(engine, 14, first_seen=day1 - timedelta(hours=6))
    set_upvotes(engine, ids[7], 50)
    set_upvotes(engine, ids[3], 20)
    sub = confirmed(engine, "reader@example.org", at=day1 - timedelta(days=1))
    run(engine, settings, day1)
    # Two papers featured again the next day (already sent) and three new ones.
    with write_transaction(engine) as conn:
        conn.execute(
            update(papers)
            .where(papers.c.id.in_(ids[:2]))
            .values(featured_day=(day1 + timedelta(days=1)).date())
        )
    new_ids = store_papers(engine, 3, start=14, first_seen=day1 + timedelta(hours=10))
    run(engine, settings, day1 + timedelta(days=1))
    first, second = (r.message for r in smtp.recorder.accepted())
    text1 = first.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    text2 = second.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    assert text1.index(ids[7]) < text1.index(ids[3]), "more upvotes first"
    assert text1.count("arxiv.org/abs/") == settings.digest_max_papers
    with engine.connect() as conn:
        got = (
            conn.execute(
                select(papers.c.id)
                .join(digest_history, digest_history.c.paper_pk == papers.c.pk)
                .where(digest_history.c.subscription_pk == sub.pk)
            )
            .scalars()
            .all()
        )
    assert len(got) == len(set(got)), "never the same paper twice"
    sent_second = {i for i in ids + new_ids if f"arxiv.org/abs/{i}" in text2}
    assert set(new_ids) <= sent_second
    assert not sent_second & {i for i in ids if f"arxiv.org/abs/{i}" in text1}


def test_missed_periods_make_one_catch_up_digest(
    engine: Engine, settings: Settings, smtp: Smtp
) -> None:
    start = datetime(2026, 3, 2, 8, tzinfo=UTC)
    store_papers(engine, 3, first_seen=start - timedelta(hours=3))
    confirmed(engine, "away@example.org", at=start - timedelta(days=1))
    run(engine, settings, start)
    # Four days without a run, papers arriving each day; then one run.
    for day in range(1, 5):
        store_papers(
            engine, 2, start=10 + 2 * day, first_seen=start + timedelta(days=day, hours=-2)
        )
    catch_up = run(engine, settings, start + timedelta(days=5))
    assert catch_up.sent == 1
    last = smtp.recorder.accepted()[-1].message
    assert last.get_body(("plain",)).get_content().count("arxiv.org/abs/") == 8  # type: ignore[union-attr]
    assert len(smtp.recorder.accepted()) == 2


def test_topic_digest_uses_search_with_negative_terms(
    engine: Engine, settings: Settings, smtp: Smtp
) -> None:
    now = datetime.now(UTC)
    ids = store_papers(engine, 200, first_seen=now - timedelta(hours=3))
    with engine.connect() as conn:
        titles = dict(
            conn.execute(select(papers.c.id, papers.c.title).where(papers.c.id.in_(ids))).all()
        )
    confirmed(engine, "topic@example.org", kind="topic", query="learning -reinforcement")
    run(engine, settings, now)
    [got] = smtp.recorder.accepted()
    text = got.message.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    sent = [i for i in ids if f"arxiv.org/abs/{i}" in text]
    assert sent, "some of 200 real papers are about learning"
    assert not any("reinforcement" in titles[i].lower() for i in sent)
    assert "learning" in got.message["Subject"]


def test_unreachable_server_stops_the_run_without_blaming_recipients(
    engine: Engine, settings: Settings, smtp: Smtp
) -> None:
    from tests.mail.smtp_server import free_port

    now = datetime.now(UTC)
    store_papers(engine, 5, first_seen=now - timedelta(hours=2))
    for i in range(3):
        confirmed(engine, f"r{i}@example.org")
    down = settings.model_copy(update={"smtp_url": f"smtp://127.0.0.1:{free_port()}?timeout=2"})
    outbox.enqueue(engine, down, "daily", now)
    report = outbox.send_due(engine, down, make_sender(down), lambda: now)
    assert report.server_problem and "cannot send through the mail server" in report.server_problem
    assert (report.sent, report.failed, report.retried) == (0, 0, 1), "stopped at the first"
    assert [(r["status"], r["attempts"]) for r in rows(engine)] == [("queued", 0)] * 3
    with engine.connect() as conn:
        assert conn.execute(select(suppressions)).first() is None
    later = now + outbox.BACKOFF_BASE + timedelta(seconds=1)
    assert outbox.send_due(engine, settings, make_sender(settings), lambda: later).sent == 3
