"""Sliding-window rate limits over ``rate_events``, and the client address they are keyed on.

Any part of paperfeed can limit an action with one call::

    check_and_record(engine, "subscribe", email, limit=5, window=DAY)

which raises ``RateLimited`` (with ``retry_after`` seconds, for a 429's ``Retry-After``) when
``limit`` attempts were already recorded for ``(kind, key)`` in the last ``window``, and
otherwise records this attempt. The count is exact on both backends: SQLite serialises writers
(``BEGIN IMMEDIATE``), and PostgreSQL takes a transaction-scoped advisory lock per key.
"""

from __future__ import annotations

import hashlib
import ipaddress
import math
import threading
import time
from datetime import UTC, datetime, timedelta

from sqlalchemy import Connection, Engine, delete, func, insert, select, text

from paperfeed.store.community_schema import rate_events
from paperfeed.store.engine import is_sqlite, write_transaction

MINUTE = timedelta(minutes=1)
DAY = timedelta(days=1)
# The longest window any limit may use; rows older than this are pruned.
KEEP = timedelta(days=7)
PRUNE_EVERY_S = 600.0

# The limits paperfeed's own forms use (RELIABILITY 17).
LOGIN_LIMIT, LOGIN_WINDOW = 10, 5 * MINUTE  # per login name and client address, and per address
RESET_LIMIT_PER_ADDRESS, RESET_LIMIT_PER_IP = 3, 20  # password-reset mails per day
MAX_KEY = 320

Network = ipaddress.IPv4Network | ipaddress.IPv6Network

_last_prune = 0.0
_prune_lock = threading.Lock()


class RateLimited(Exception):
    """Too many attempts; ``retry_after`` is whole seconds until the next one is allowed."""

    def __init__(self, kind: str, retry_after: int) -> None:
        super().__init__(f"Too many attempts ({kind}). Try again in {retry_after} seconds.")
        self.kind = kind
        self.retry_after = retry_after


def check_and_record(
    engine: Engine,
    kind: str,
    key: str,
    limit: int,
    window: timedelta,
    *,
    now: datetime | None = None,
) -> None:
    """Record one attempt of ``kind`` by ``key``, or raise ``RateLimited`` if over ``limit``."""
    if window > KEEP:
        raise ValueError(f"rate-limit windows are at most {KEEP}")
    now = now or datetime.now(UTC)
    with write_transaction(engine) as conn:
        record_attempt(conn, kind, key, limit, window, now)
    _maybe_prune(engine, now)


def record_attempt(
    conn: Connection, kind: str, key: str, limit: int, window: timedelta, now: datetime
) -> None:
    """``check_and_record`` inside the caller's write transaction (rolled back with it)."""
    key = _stored_key(key)
    if not is_sqlite(conn.engine):
        lock = text("SELECT pg_advisory_xact_lock(hashtext(:k))")
        conn.execute(lock, {"k": f"{kind} {key}"})
    start = now - window
    this_key = (rate_events.c.kind == kind) & (rate_events.c.key == key)
    conn.execute(delete(rate_events).where(this_key, rate_events.c.at <= start))
    count, oldest = conn.execute(
        select(func.count(), func.min(rate_events.c.at)).where(this_key, rate_events.c.at > start)
    ).one()
    if count >= limit:
        raise RateLimited(kind, _seconds_until(_aware(oldest) + window, now))
    conn.execute(insert(rate_events).values(kind=kind, key=key, at=now))


def prune(engine: Engine, now: datetime | None = None) -> int:
    """Delete every attempt older than ``KEEP``; returns how many rows went."""
    cutoff = (now or datetime.now(UTC)) - KEEP
    with write_transaction(engine) as conn:
        return conn.execute(delete(rate_events).where(rate_events.c.at < cutoff)).rowcount


def _maybe_prune(engine: Engine, now: datetime) -> None:
    # Keys that never come back (one-off addresses) would otherwise stay forever; a full
    # sweep every few minutes per process keeps the table to about KEEP's worth of rows.
    global _last_prune
    with _prune_lock:
        if time.monotonic() - _last_prune < PRUNE_EVERY_S:
            return
        _last_prune = time.monotonic()
    prune(engine, now)


def _stored_key(key: str) -> str:
    key = key.strip().lower()
    # Long keys, and keys with control characters (PostgreSQL refuses NUL in text), are hashed.
    if len(key) > MAX_KEY or not key.isprintable():
        return "sha256:" + hashlib.sha256(key.encode()).hexdigest()
    return key


def _aware(moment: datetime) -> datetime:
    # SQLite hands datetimes back naive; they were stored in UTC.
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _seconds_until(moment: datetime, now: datetime) -> int:
    return max(1, math.ceil((moment - now).total_seconds()))


def parse_trusted_proxies(value: str) -> list[Network]:
    """The networks of the ``trusted_proxies`` setting (comma-separated IPs or CIDRs)."""
    networks = []
    for item in value.replace(" ", ",").split(","):
        if item:
            try:
                networks.append(ipaddress.ip_network(item, strict=False))
            except ValueError:
                message = f"trusted_proxies: {item!r} is not an IP address or CIDR"
                raise ValueError(message) from None
    return networks


def client_address(peer: str | None, forwarded_for: str | None, trusted: list[Network]) -> str:
    """The address of the client: the TCP peer, unless that peer is a trusted proxy.

    Behind trusted proxies, ``X-Forwarded-For`` is read right to left (each proxy appends the
    address it saw) and the first address that is not itself a trusted proxy is the client's.
    Without a trusted peer the header is ignored: anyone can send it.
    """
    peer = peer or "unknown"
    if not forwarded_for or not _is_trusted(peer, trusted):
        return peer
    hops = [hop.strip() for hop in forwarded_for.split(",") if hop.strip()]
    for hop in reversed(hops):
        if not _is_trusted(hop, trusted):
            return hop if _is_ip(hop) else peer
    return hops[0] if hops else peer


def _is_ip(value: str) -> bool:
    try:
        ipaddress.ip_address(value)
    except ValueError:
        return False
    return True


def _is_trusted(address: str, trusted: list[Network]) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in network for network in trusted)
