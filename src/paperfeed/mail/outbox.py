"""The outbox: due digests become rows (one per subscription and period), then get sent.

Creating: each batch of due subscriptions is read, composed and written in ONE transaction —
the outbox rows (``UNIQUE (subscription_pk, period)``, ``ON CONFLICT DO NOTHING``), the papers
each got (``digest_history``), and the subscriptions' ``last_period``. PostgreSQL workers take
the batch with ``FOR UPDATE SKIP LOCKED``; SQLite serialises writers (``BEGIN IMMEDIATE``). Two
``digest send`` started together therefore make one row per subscription (RELIABILITY 1).

Sending: a worker leases a few rows (``status='sending'``, ``lease_until``), checks the
address is still subscribed and not suppressed, sends, and commits ``sent`` per message. A
crash between the server's 250 and that commit is the one window in which a digest can go out
twice (with the same Message-ID); a crash anywhere else loses nothing: the lease expires and
the row is sent again. 4xx answers and dropped connections are retried with exponential
backoff (``next_attempt_at``); a 5xx fails the row and suppresses the address.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Engine, and_, bindparam, exists, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite

from paperfeed.config import Settings
from paperfeed.mail.digest import (
    Composer,
    PaperCache,
    build_raw,
    for_you_ranks,
    message_id,
    period_of,
    window_start,
)
from paperfeed.mail.subscriptions import (
    KINDS,
    Subscription,
    _row,
    _select,
    account_of,
)
from paperfeed.mail.transport import MailError, MailSender
from paperfeed.store.engine import is_sqlite, write_transaction
from paperfeed.store.mail_schema import (
    digest_history,
    outbox,
    subscribers,
    subscriptions,
    suppressions,
)

log = logging.getLogger(__name__)

ENQUEUE_BATCH = 500
CLAIM_BATCH = 20
MAX_ATTEMPTS = 8
BACKOFF_BASE = timedelta(minutes=1)
BACKOFF_MAX = timedelta(hours=6)

Clock = Callable[[], datetime]


def utcnow() -> datetime:
    return datetime.now(UTC)


def backoff(attempts: int) -> timedelta:
    """Wait before retry number ``attempts`` (1, 2, 4, 8 … minutes, at most 6 hours)."""
    return min(BACKOFF_BASE * (2 ** max(0, attempts - 1)), BACKOFF_MAX)


def _insert(conn: Connection, table: Any) -> Any:
    return (sqlite.insert if is_sqlite_conn(conn) else postgresql.insert)(table)


def is_sqlite_conn(conn: Connection) -> bool:
    return conn.dialect.name == "sqlite"


def not_suppressed() -> Any:
    return ~exists().where(suppressions.c.email == subscribers.c.email)


def due_query(frequency: str, period: str, limit: int) -> Any:
    return (
        _select()
        .where(
            subscriptions.c.confirmed_at.is_not(None),
            subscriptions.c.unsubscribed_at.is_(None),
            subscriptions.c.frequency == frequency,
            subscriptions.c.kind.in_(KINDS),
            or_(subscriptions.c.last_period.is_(None), subscriptions.c.last_period != period),
            not_suppressed(),
        )
        .order_by(subscriptions.c.pk)
        .limit(limit)
    )


def _due_for_you(engine: Engine, frequency: str, period: str) -> list[Subscription]:
    query = due_query(frequency, period, 100_000).where(subscriptions.c.kind == "for_you")
    with engine.connect() as conn:
        return [_row(r) for r in conn.execute(query)]


@dataclass
class EnqueueReport:
    period: str
    created: int = 0
    empty: int = 0  # due, but no new paper for them: nothing to send this period

    def as_dict(self) -> dict[str, object]:
        return {"period": self.period, "created": self.created, "empty": self.empty}


def due_digests(
    engine: Engine, settings: Settings, frequency: str, now: datetime | None = None
) -> list[tuple[Subscription, list[int]]]:
    """What ``enqueue`` would create now (for --dry-run and previews), without writing."""
    now = now or utcnow()
    period = period_of(frequency, now)
    found: list[tuple[Subscription, list[int]]] = []
    for_you = for_you_ranks(engine, settings, _due_for_you(engine, frequency, period))
    with engine.connect() as conn:
        composer = Composer(conn, settings.digest_max_papers, None, for_you)
        last_pk = 0
        while True:
            query = due_query(frequency, period, ENQUEUE_BATCH).where(subscriptions.c.pk > last_pk)
            subs = [_row(r) for r in conn.execute(query)]
            if not subs:
                return found
            picks = composer.pick(subs, now)
            found.extend((sub, picks[sub.pk]) for sub in subs)
            last_pk = subs[-1].pk


def enqueue(
    engine: Engine,
    settings: Settings,
    frequency: str,
    now: datetime | None = None,
    batch: int = ENQUEUE_BATCH,
) -> EnqueueReport:
    """Create this period's outbox rows for every due subscription (safe to run concurrently)."""
    now = now or utcnow()
    period = period_of(frequency, now)
    report = EnqueueReport(period)
    ranked: dict[tuple[str, str, datetime, datetime], list[int]] = {}
    for_you = for_you_ranks(engine, settings, _due_for_you(engine, frequency, period))
    while True:
        with write_transaction(engine) as conn:
            query = due_query(frequency, period, batch)
            if not is_sqlite(engine):
                query = query.with_for_update(of=subscriptions, skip_locked=True)
            subs = [_row(r) for r in conn.execute(query)]
            if not subs:
                return report
            composer = Composer(conn, settings.digest_max_papers, ranked, for_you)
            _enqueue_batch(conn, settings, subs, period, composer.pick(subs, now), now, report)


def _enqueue_batch(
    conn: Connection,
    settings: Settings,
    subs: list[Subscription],
    period: str,
    picks: dict[int, list[int]],
    now: datetime,
    report: EnqueueReport,
) -> None:
    """One batch's rows, history and subscription marks, in the caller's transaction."""
    values = [
        {
            "subscription_pk": sub.pk,
            "period": period,
            "email": sub.email,
            "paper_pks": json.dumps(picks[sub.pk]),
            "window_start": window_start(sub, now),
            "window_end": now,
            "message_id": message_id(settings, sub.pk, period),
            "status": "queued",
            "attempts": 0,
            "next_attempt_at": now,
            "created_at": now,
        }
        for sub in subs
        if picks[sub.pk]
    ]
    created: dict[int, int] = {}
    if values:
        # A row that already exists (another process made it first) is left alone and not
        # returned: its history and marks were written with it.
        inserted = conn.execute(
            _insert(conn, outbox)
            .values(values)
            .on_conflict_do_nothing()
            .returning(outbox.c.pk, outbox.c.subscription_pk)
        )
        created = {sub_pk: pk for pk, sub_pk in inserted}
    if created:
        conn.execute(
            _insert(conn, digest_history).on_conflict_do_nothing(),
            [
                {"subscription_pk": sub_pk, "paper_pk": paper_pk, "outbox_pk": outbox_pk}
                for sub_pk, outbox_pk in created.items()
                for paper_pk in picks[sub_pk]
            ],
        )
        conn.execute(
            update(subscriptions)
            .where(subscriptions.c.pk == bindparam("sub_pk"))
            .values(last_period=period, last_window_end=now),
            [{"sub_pk": sub_pk} for sub_pk in created],
        )
    # Nothing new for these: mark the period done, keep the window open so papers accumulate.
    empty = [sub.pk for sub in subs if not picks[sub.pk]]
    if empty:
        conn.execute(
            update(subscriptions).where(subscriptions.c.pk.in_(empty)).values(last_period=period)
        )
    report.created += len(created)
    report.empty += len(empty)


@dataclass
class SendReport:
    sent: int = 0
    retried: int = 0
    failed: int = 0
    skipped: int = 0
    errors: list[str] = field(default_factory=list)
    # Set when the mail server could not be used at all (connect, TLS, login): sending stopped.
    server_problem: str = ""

    def as_dict(self) -> dict[str, object]:
        return {
            "sent": self.sent,
            "retried": self.retried,
            "failed": self.failed,
            "skipped": self.skipped,
        }


@dataclass(frozen=True, slots=True)
class OutboxRow:
    pk: int
    subscription_pk: int
    period: str
    email: str
    paper_pks: list[int]
    message_id: str
    attempts: int
    lease_until: datetime


def _aware(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value


def claim(engine: Engine, now: datetime, lease: timedelta, limit: int) -> list[OutboxRow]:
    """Lease up to ``limit`` rows: queued and due, or left by a sender whose lease ran out."""
    with write_transaction(engine) as conn:
        query = (
            select(outbox.c.pk)
            .where(
                or_(
                    and_(outbox.c.status == "queued", outbox.c.next_attempt_at <= now),
                    and_(outbox.c.status == "sending", outbox.c.lease_until < now),
                )
            )
            .order_by(outbox.c.pk)
            .limit(limit)
        )
        if not is_sqlite(engine):
            query = query.with_for_update(skip_locked=True)
        pks = list(conn.execute(query).scalars())
        if not pks:
            return []
        until = now + lease
        conn.execute(
            update(outbox).where(outbox.c.pk.in_(pks)).values(status="sending", lease_until=until)
        )
        rows = conn.execute(
            select(
                outbox.c.pk,
                outbox.c.subscription_pk,
                outbox.c.period,
                outbox.c.email,
                outbox.c.paper_pks,
                outbox.c.message_id,
                outbox.c.attempts,
            )
            .where(outbox.c.pk.in_(pks))
            .order_by(outbox.c.pk)
        ).all()
    return [
        OutboxRow(
            r.pk,
            r.subscription_pk,
            r.period,
            r.email,
            json.loads(r.paper_pks),
            r.message_id,
            r.attempts,
            until,
        )
        for r in rows
    ]


class Session:
    """A send loop's two connections: one for send-time checks, one for outcome marks.

    Marks ("sent", "retry", "skipped") are committed without an fsync: a mark survives a crash
    of the process (SQLite: it is in the WAL; PostgreSQL: in the server) but may be lost to a
    power cut or an OS crash, and that row is then sent again with the same Message-ID. The
    outbox rows themselves are written with full durability, so nothing is ever lost; this
    trades a rare duplicate for ~2.5 ms an email. Holding the connections for the loop also
    saves a pool check-out (and PostgreSQL's pre-ping) per statement.
    """

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.sqlite = is_sqlite(engine)
        self.reader = engine.connect()
        self.marker = engine.connect().execution_options(sqlite_immediate=True)
        if self.sqlite:
            self._raw().execute("PRAGMA synchronous=NORMAL")  # autocommit: outside a transaction
        else:
            self.marker.exec_driver_sql("SET synchronous_commit = off")
            self.marker.commit()

    def _raw(self) -> Any:
        raw = self.marker.connection.driver_connection
        assert raw is not None
        return raw

    def check(self, query: Any) -> Any:
        try:
            return self.reader.execute(query).first()
        finally:
            self.reader.rollback()  # no snapshot kept between messages

    def account(self, email: str) -> int | None:
        """The account registered with ``email`` ("for you" digests link votes to it)."""
        try:
            return account_of(self.reader, email)
        finally:
            self.reader.rollback()

    def papers(self, cache: PaperCache, pks: list[int]) -> list[Any]:
        try:
            return cache.get(self.reader, pks)
        finally:
            self.reader.rollback()

    def finish(self, pk: int, **values: Any) -> None:
        with self.marker.begin():
            self.marker.execute(
                update(outbox)
                .where(outbox.c.pk == pk, outbox.c.status == "sending")
                .values(lease_until=None, **values)
            )

    def close(self) -> None:
        try:
            # The pool's connections go back as configured (FULL / synchronous commits).
            if self.sqlite:
                self._raw().execute("PRAGMA synchronous=FULL")
            else:
                self.marker.exec_driver_sql("RESET synchronous_commit")
                self.marker.commit()
        finally:
            self.marker.close()
            self.reader.close()


def suppress(conn: Connection, email: str, reason: str, detail: str, now: datetime) -> None:
    conn.execute(
        _insert(conn, suppressions)
        .values(email=email, reason=reason, detail=detail[:2000], created_at=now)
        .on_conflict_do_nothing()
    )


def is_suppressed(conn: Connection, email: str) -> bool:
    found = conn.execute(select(suppressions.c.email).where(suppressions.c.email == email))
    return found.first() is not None


def send_due(
    engine: Engine,
    settings: Settings,
    sender: MailSender,
    clock: Clock = utcnow,
    *,
    batch: int = CLAIM_BATCH,
    more_senders: Callable[[], MailSender] | None = None,
    on_sent: Callable[[OutboxRow], None] | None = None,
) -> SendReport:
    """Send every row that is due now; returns what happened to them.

    With ``more_senders``, ``settings.smtp_connections`` threads send at once, each over its
    own connection and each leasing its own rows (as separate workers would).
    """
    cache = PaperCache()
    threads = settings.smtp_connections if more_senders is not None else 1
    if threads <= 1:
        return _send_loop(engine, settings, sender, clock, batch, cache, on_sent)
    assert more_senders is not None
    senders = [sender] + [more_senders() for _ in range(threads - 1)]
    with ThreadPoolExecutor(threads, thread_name_prefix="paperfeed-send") as pool:
        futures = [
            pool.submit(_send_loop, engine, settings, s, clock, batch, cache, on_sent)
            for s in senders
        ]
        reports = [future.result() for future in futures]
    total = SendReport()
    for part in reports:
        total.sent += part.sent
        total.retried += part.retried
        total.failed += part.failed
        total.skipped += part.skipped
        total.errors += part.errors
        total.server_problem = total.server_problem or part.server_problem
    return total


def _send_loop(
    engine: Engine,
    settings: Settings,
    sender: MailSender,
    clock: Clock,
    batch: int,
    cache: PaperCache,
    on_sent: Callable[[OutboxRow], None] | None,
) -> SendReport:
    report = SendReport()
    lease = timedelta(seconds=settings.mail_lease_seconds)
    # Never start a send this close to the lease's end: another worker may take the row then.
    margin = lease / 4
    session = Session(engine)
    try:
        while True:
            rows = claim(engine, clock(), lease, batch)
            if not rows:
                return report
            for index, row in enumerate(rows):
                if clock() >= row.lease_until - margin:
                    _release(engine, [r.pk for r in rows[index:]])
                    break
                _send_one(session, settings, sender, row, cache, clock, report)
                if report.server_problem:
                    # The server, not this row: stop; the rest go out on a later run.
                    _release(engine, [r.pk for r in rows[index + 1 :]])
                    return report
                if on_sent is not None:
                    on_sent(row)
    finally:
        sender.close()
        session.close()


def _release(engine: Engine, pks: Sequence[int]) -> None:
    with write_transaction(engine) as conn:
        conn.execute(
            update(outbox)
            .where(outbox.c.pk.in_(pks), outbox.c.status == "sending")
            .values(status="queued", lease_until=None)
        )


def _send_one(
    session: Session,
    settings: Settings,
    sender: MailSender,
    row: OutboxRow,
    cache: PaperCache,
    clock: Clock,
    report: SendReport,
) -> None:
    now = clock()
    # Checked at send time, in one query: an unsubscribe or a suppression after queueing
    # wins over the queued row.
    found = session.check(
        _select()
        .add_columns(
            exists().where(suppressions.c.email == subscribers.c.email).label("suppressed")
        )
        .where(subscriptions.c.pk == row.subscription_pk)
    )
    sub = _row(found) if found is not None else None
    reason = None
    if sub is None or not sub.active:
        reason = "unsubscribed"
    elif sub.email != row.email or (found is not None and found.suppressed):
        reason = "suppressed"
    digest_papers: list[Any] = []
    if reason is None:
        digest_papers = session.papers(cache, row.paper_pks)
        if not digest_papers:
            reason = "no papers left (removed)"
    if reason is not None or sub is None:
        session.finish(row.pk, status="skipped", last_error=reason)
        report.skipped += 1
        return
    feedback_user = session.account(sub.email) if sub.kind == "for_you" else None
    message = build_raw(
        settings, sub, row.period, digest_papers, now, row.message_id, feedback_user
    )
    try:
        sender.send_raw(message)
    except MailError as error:
        _failed(session, row, error, clock(), report)
        return
    session.finish(row.pk, status="sent", sent_at=clock())
    report.sent += 1


def _failed(
    session: Session, row: OutboxRow, error: MailError, now: datetime, report: SendReport
) -> None:
    attempts = row.attempts + 1
    text = str(error)[:2000]
    report.errors.append(f"{row.email}: {text}")
    log.warning("digest not sent", extra={"to": row.email, "error": text, "attempt": attempts})
    if error.server_problem:
        # Not this recipient's fault: no attempt counted, nobody suppressed.
        session.finish(row.pk, status="queued", last_error=text, next_attempt_at=now + BACKOFF_BASE)
        report.retried += 1
        report.server_problem = text
    elif error.permanent:
        with write_transaction(session.engine) as conn:
            conn.execute(
                update(outbox)
                .where(outbox.c.pk == row.pk, outbox.c.status == "sending")
                .values(status="failed", attempts=attempts, last_error=text, lease_until=None)
            )
            suppress(conn, row.email, "smtp_5xx", text, now)
        report.failed += 1
    elif attempts >= MAX_ATTEMPTS:
        session.finish(row.pk, status="failed", attempts=attempts, last_error=text)
        report.failed += 1
    else:
        session.finish(
            row.pk,
            status="queued",
            attempts=attempts,
            last_error=text,
            next_attempt_at=now + backoff(attempts),
        )
        report.retried += 1
