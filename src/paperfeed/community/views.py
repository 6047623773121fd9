"""Paper-page views: one per person, paper and day, counted in memory and written in batches.

A person is the signed-in account, else a keyed hash (HMAC-SHA256 with the site's secret key)
of the client address and the browser's user agent, salted with the day: the address and the
user agent are never stored, and the hashes of two days cannot be linked. A loop of requests
from one browser, with or without cookies, is one person.

``ViewCounter.add`` only touches memory. ``flush`` writes what was gathered in one transaction:
new (paper, day, visitor) rows in ``view_visitors`` (whose key makes a person count once per
day across batches, processes and servers), then the views that really were new into trending's
inputs. It runs when ``VIEW_FLUSH_BATCH`` views are waiting, when ``VIEW_FLUSH_SECONDS`` have
passed (the web app's lifespan also flushes on a timer), and at shutdown; a crash loses at most
the views not yet flushed, never anything else.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import Connection, Engine, delete
from sqlalchemy.exc import SQLAlchemyError

from paperfeed.community.votes import insert_ignoring_duplicates
from paperfeed.rank.trending import record_views
from paperfeed.store.community_schema import view_visitors
from paperfeed.store.engine import write_transaction

log = logging.getLogger(__name__)

View = tuple[int, date, str]  # (paper pk, day, visitor hash)
_ROWS_PER_INSERT = 300  # 3 parameters a row: well under SQLite's limit per statement
MAX_PENDING = 100_000  # views kept for a retry when the database is unavailable
KEEP_DAYS = 2  # a visitor row only has to outlive its day (and a clock skew)


def visitor_key(
    secret: str, day: date, *, user_pk: int | None, address: str, user_agent: str
) -> str:
    """The stored identity of one viewer for one day (32 hex characters)."""
    who = f"user:{user_pk}" if user_pk is not None else f"anon:{address}\n{user_agent}"
    message = f"{day.isoformat()}\n{who}".encode()
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()[:32]


class ViewCounter:
    """Views gathered in memory and flushed in batches (thread-safe)."""

    def __init__(
        self,
        engine: Engine,
        *,
        batch: int = 500,
        seconds: float = 30.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.engine, self.batch, self.seconds, self._clock = engine, batch, seconds, clock
        self._pending: set[View] = set()
        self._lock = threading.Lock()
        self._flushing = threading.Lock()
        self._last = clock()

    @property
    def pending(self) -> int:
        return len(self._pending)

    def add(self, paper_pk: int, visitor: str, day: date | None = None) -> None:
        """Count one view (a repeat of one already waiting adds nothing); flush when due."""
        with self._lock:
            self._pending.add((paper_pk, day or datetime.now(UTC).date(), visitor))
            due = len(self._pending) >= self.batch or self._clock() - self._last >= self.seconds
        if due:
            self.flush()

    def flush(self, now: datetime | None = None) -> int:
        """Write the waiting views; returns how many were new (not already counted)."""
        with self._flushing:  # one flush at a time per process; others' views wait for the next
            with self._lock:
                taken, self._pending = self._pending, set()
                self._last = self._clock()
            if not taken:
                return 0
            try:
                return write_views(self.engine, taken, now)
            except SQLAlchemyError as error:  # keep them for the next flush, within bounds
                log.warning("views not written yet: %s", error)
                with self._lock:
                    room = max(0, MAX_PENDING - len(self._pending))
                    self._pending.update(list(taken)[:room])
                return 0


def write_views(engine: Engine, views: Iterable[View], now: datetime | None = None) -> int:
    """Store ``views`` in one transaction; count for trending only those not stored before."""
    rows = [{"paper_pk": p, "day": d, "visitor": v} for p, d, v in sorted(set(views))]
    with write_transaction(engine) as conn:
        new = _insert_new(conn, rows)
        if new:
            record_views(conn, Counter(new), now=now)
        _prune(conn, now)
    return len(new)


def _insert_new(conn: Connection, rows: list[dict[str, object]]) -> list[tuple[int, date]]:
    """Insert the rows not there yet; (paper, day) of each one inserted."""
    new: list[tuple[int, date]] = []
    for start in range(0, len(rows), _ROWS_PER_INSERT):
        chunk = rows[start : start + _ROWS_PER_INSERT]
        insert = insert_ignoring_duplicates(conn, view_visitors).values(chunk)
        returning = insert.returning(view_visitors.c.paper_pk, view_visitors.c.day)
        new.extend((row.paper_pk, row.day) for row in conn.execute(returning))
    return new


def _prune(conn: Connection, now: datetime | None) -> None:
    oldest = (now or datetime.now(UTC)).date() - timedelta(days=KEEP_DAYS)
    conn.execute(delete(view_visitors).where(view_visitors.c.day < oldest))
