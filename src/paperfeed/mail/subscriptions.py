"""Subscriptions with double opt-in: subscribe, confirm, unsubscribe, preferences, operators' list.

Nothing is sent to an address before it confirms (RELIABILITY 10): ``subscribe`` stores a
pending subscription and sends only the confirmation, as transactional mail (no List-Id).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from typing import Any, Literal

from sqlalchemy import Connection, Engine, Select, and_, delete, func, insert, select, update

from paperfeed.config import Settings
from paperfeed.mail import tokens
from paperfeed.mail.render import render_pair
from paperfeed.mail.transport import MailSender, mail_domain, transactional_from
from paperfeed.store.community_schema import users
from paperfeed.store.engine import as_utc, write_transaction
from paperfeed.store.mail_schema import subscribers, subscriptions, suppressions

Frequency = Literal["daily", "weekly"]
FREQUENCIES = ("daily", "weekly")
# "for_you" is the recommendations of the account with the same address (rank.for_you).
KINDS = ("trending", "topic", "for_you")
MAX_QUERY = 500
_EMAIL = re.compile(
    r"^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@"
    r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)+$"
)


class SubscriptionError(ValueError):
    """Bad input or a link that cannot be used; the message is for the person."""


class NoAccount(SubscriptionError):
    """A "for you" digest for an address that no account uses.

    The site answers it like any other subscription (whether an address has an account is for
    its owner to learn, not whoever typed it): it mails ``account_needed_message`` instead of a
    confirmation, unless ``notify`` is False (the address is suppressed).
    """

    def __init__(self, notify: bool) -> None:
        super().__init__(
            "“For you” digests need an account with this email address: register first."
        )
        self.notify = notify


@dataclass(frozen=True, slots=True)
class Subscription:
    pk: int
    email: str
    kind: str
    query: str
    frequency: str
    created_at: datetime
    confirmed_at: datetime | None
    unsubscribed_at: datetime | None
    confirm_version: int
    last_period: str | None
    last_window_end: datetime | None

    @property
    def active(self) -> bool:
        return self.confirmed_at is not None and self.unsubscribed_at is None

    @property
    def status(self) -> str:
        if self.unsubscribed_at is not None:
            return "unsubscribed"
        return "active" if self.confirmed_at is not None else "pending"

    @property
    def label(self) -> str:
        if self.kind == "topic":
            what = f"Papers about “{self.query}”"
        else:
            what = "Papers for you" if self.kind == "for_you" else "Trending papers"
        return f"{what}, {self.frequency}"

    @property
    def phrase(self) -> str:
        """For sentences: "the daily digest of trending papers"."""
        if self.kind == "topic":
            what = f"papers about “{self.query}”"
        else:
            what = "papers for you" if self.kind == "for_you" else "trending papers"
        return f"the {self.frequency} digest of {what}"

    def as_dict(self) -> dict[str, object]:
        return {
            "email": self.email,
            "kind": self.kind,
            "query": self.query,
            "frequency": self.frequency,
            "status": self.status,
            "created_at": self.created_at.isoformat(),
            "confirmed_at": self.confirmed_at.isoformat() if self.confirmed_at else None,
            "unsubscribed_at": self.unsubscribed_at.isoformat() if self.unsubscribed_at else None,
            "last_period": self.last_period,
        }


def _utc(value: datetime | None) -> datetime | None:
    return None if value is None else as_utc(value)


def normalise_email(email: str) -> str:
    """The address in the form it is stored (lower-case), or a clear error."""
    email = email.strip().lower()
    if len(email) > 254 or not _EMAIL.match(email):
        raise SubscriptionError(f"“{email[:80]}” is not an email address.")
    return email


def check_frequency(frequency: str) -> str:
    if frequency not in FREQUENCIES:
        raise SubscriptionError("Frequency must be daily or weekly.")
    return frequency


def check_query(query: str) -> str:
    query = " ".join(query.split())
    if any(ord(char) < 32 or 0x7F <= ord(char) < 0xA0 for char in query):
        raise SubscriptionError("The topic query contains control characters.")
    if not query:
        raise SubscriptionError("A topic digest needs a search query.")
    if len(query) > MAX_QUERY:
        raise SubscriptionError(f"The topic query is longer than {MAX_QUERY} characters.")
    return query


_COLUMNS = (
    subscriptions.c.pk,
    subscribers.c.email,
    subscriptions.c.kind,
    subscriptions.c.query,
    subscriptions.c.frequency,
    subscriptions.c.created_at,
    subscriptions.c.confirmed_at,
    subscriptions.c.unsubscribed_at,
    subscriptions.c.confirm_version,
    subscriptions.c.last_period,
    subscriptions.c.last_window_end,
)


def _select() -> Select[Any]:
    return select(*_COLUMNS).join_from(
        subscriptions, subscribers, subscribers.c.pk == subscriptions.c.subscriber_pk
    )


def _row(row: object) -> Subscription:
    m = row._mapping  # type: ignore[attr-defined]
    return Subscription(
        pk=m["pk"],
        email=m["email"],
        kind=m["kind"],
        query=m["query"],
        frequency=m["frequency"],
        created_at=_utc(m["created_at"]) or datetime.now(UTC),
        confirmed_at=_utc(m["confirmed_at"]),
        unsubscribed_at=_utc(m["unsubscribed_at"]),
        confirm_version=m["confirm_version"],
        last_period=m["last_period"],
        last_window_end=_utc(m["last_window_end"]),
    )


def get_subscription(conn: Connection, pk: int) -> Subscription | None:
    row = conn.execute(_select().where(subscriptions.c.pk == pk)).first()
    return _row(row) if row else None


def subscribe(
    engine: Engine,
    email: str,
    frequency: str = "daily",
    kind: str = "trending",
    query: str = "",
    now: datetime | None = None,
) -> tuple[Subscription, bool]:
    """Store a pending subscription; returns it and whether a confirmation should be sent.

    Subscribing again to a pending or cancelled digest sends a new confirmation (older confirm
    links stop working, the new frequency applies once confirmed); an active one is left
    unchanged (its owner changes it from the preferences link).
    """
    now = now or datetime.now(UTC)
    email = normalise_email(email)
    check_frequency(frequency)
    if kind not in KINDS:
        raise SubscriptionError("Digest kind must be trending, topic or for_you.")
    query = check_query(query) if kind == "topic" else ""
    with write_transaction(engine) as conn:
        if kind == "for_you" and account_of(conn, email) is None:
            raise NoAccount(notify=not _suppressed(conn, email))
        subscriber_pk = conn.execute(
            select(subscribers.c.pk).where(subscribers.c.email == email)
        ).scalar()
        if subscriber_pk is None:
            subscriber_pk = conn.execute(
                insert(subscribers)
                .values(email=email, created_at=now, soft_bounces=0)
                .returning(subscribers.c.pk)
            ).scalar_one()
        existing = conn.execute(
            _select().where(
                and_(
                    subscriptions.c.subscriber_pk == subscriber_pk,
                    subscriptions.c.kind == kind,
                    subscriptions.c.query == query,
                )
            )
        ).first()
        if existing is None:
            pk = conn.execute(
                insert(subscriptions)
                .values(
                    subscriber_pk=subscriber_pk,
                    kind=kind,
                    query=query,
                    frequency=frequency,
                    created_at=now,
                    confirm_version=1,
                )
                .returning(subscriptions.c.pk)
            ).scalar_one()
        else:
            current = _row(existing)
            pk = current.pk
            if current.active:
                # Left as it is: anyone can type an address into the box; changes go through
                # the preferences link in the subscriber's own mail.
                return current, False
            conn.execute(
                update(subscriptions)
                .where(subscriptions.c.pk == pk)
                .values(
                    frequency=frequency,
                    confirmed_at=None,
                    unsubscribed_at=None,
                    confirm_version=subscriptions.c.confirm_version + 1,
                )
            )
        found = get_subscription(conn, pk)
        assert found is not None
        # A bounced or complaining address gets no mail, not even a confirmation.
        return found, not _suppressed(conn, email)


def _suppressed(conn: Connection, email: str) -> bool:
    found = conn.execute(select(suppressions.c.email).where(suppressions.c.email == email))
    return found.first() is not None


def account_of(conn: Connection, email: str) -> int | None:
    """The user account (pk) that uses this address, if any."""
    found = conn.execute(select(users.c.pk).where(func.lower(users.c.email) == email)).scalar()
    return int(found) if found is not None else None


def link(settings: Settings, path: str) -> str:
    return settings.base_url.rstrip("/") + path


def confirm_url(settings: Settings, sub: Subscription, now: datetime | None = None) -> str:
    token = tokens.make_token(
        settings.resolved_secret_key(), "confirm", sub.pk, sub.confirm_version, now
    )
    return link(settings, f"/confirm/{token}")


def unsubscribe_url(settings: Settings, sub_pk: int, now: datetime | None = None) -> str:
    token = tokens.make_token(settings.resolved_secret_key(), "unsubscribe", sub_pk, 0, now)
    return link(settings, f"/unsubscribe/{token}")


def preferences_url(settings: Settings, sub_pk: int, now: datetime | None = None) -> str:
    token = tokens.make_token(settings.resolved_secret_key(), "preferences", sub_pk, 0, now)
    return link(settings, f"/preferences/{token}")


def confirmation_message(
    settings: Settings, sub: Subscription, now: datetime | None = None
) -> EmailMessage:
    """The opt-in mail: transactional (its own From, no List-Id / List-Unsubscribe)."""
    now = now or datetime.now(UTC)
    url = confirm_url(settings, sub, now)
    days = tokens.LIFETIMES["confirm"].days
    context = {"label": sub.phrase, "site": settings.base_url, "email": sub.email, "days": days}
    text, html = render_pair("confirm_email", {**context, "confirm_url": url})
    message = EmailMessage()
    message["From"] = transactional_from(settings)
    message["To"] = sub.email
    message["Subject"] = "Confirm your paperfeed subscription"
    message["Date"] = formatdate(now.timestamp(), usegmt=True)
    message["Message-ID"] = make_msgid("confirm", domain=mail_domain(settings))
    message["Auto-Submitted"] = "auto-generated"
    message.set_content(text)
    message.add_alternative(html, subtype="html")
    return message


def account_needed_message(
    settings: Settings, email: str, now: datetime | None = None
) -> EmailMessage:
    """The answer to a "for you" subscription for an address with no account (transactional)."""
    now = now or datetime.now(UTC)
    message = EmailMessage()
    message["From"] = transactional_from(settings)
    message["To"] = email
    message["Subject"] = "Your paperfeed “for you” digest needs an account"
    message["Date"] = formatdate(now.timestamp(), usegmt=True)
    message["Message-ID"] = make_msgid("account-needed", domain=mail_domain(settings))
    message["Auto-Submitted"] = "auto-generated"
    message.set_content(
        "Someone (hopefully you) asked paperfeed for a “for you” digest at this address.\n\n"
        "That digest holds the recommendations of the paperfeed account that uses this "
        "address, and no account uses it yet. Register with this address at\n\n"
        f"{link(settings, '/register')}\n\n"
        "then subscribe again. If you did not ask for it, ignore this message: nothing was "
        "subscribed and nothing more will be sent.\n"
    )
    return message


def send_confirmation(
    settings: Settings, sender: MailSender, sub: Subscription, now: datetime | None = None
) -> None:
    sender.send(confirmation_message(settings, sub, now))


def confirm(
    engine: Engine, settings: Settings, token: str, now: datetime | None = None
) -> Subscription:
    """Turn the subscription on; a confirm link works once, and not after it expires."""
    now = now or datetime.now(UTC)
    try:
        data = tokens.read_token(settings.resolved_secret_key(), token, "confirm", now)
    except tokens.TokenError as error:
        raise SubscriptionError(str(error)) from None
    with write_transaction(engine) as conn:
        _linked(conn, data)
        done = conn.execute(
            update(subscriptions)
            .where(
                subscriptions.c.pk == data.subscription_pk,
                subscriptions.c.confirm_version == data.version,
                subscriptions.c.confirmed_at.is_(None),
                subscriptions.c.unsubscribed_at.is_(None),
            )
            .values(confirmed_at=now)
        )
        if done.rowcount != 1:
            raise SubscriptionError("This confirmation link was already used or replaced.")
        sub = get_subscription(conn, data.subscription_pk)
    assert sub is not None
    return sub


def subscription_for(
    engine: Engine,
    settings: Settings,
    token: str,
    purpose: tokens.Purpose,
    now: datetime | None = None,
) -> Subscription:
    """The subscription a link points at (for the confirm / unsubscribe / preferences pages)."""
    try:
        data = tokens.read_token(settings.resolved_secret_key(), token, purpose, now)
    except tokens.TokenError as error:
        raise SubscriptionError(str(error)) from None
    with engine.connect() as conn:
        sub = _linked(conn, data)
    if purpose == "confirm" and data.version != sub.confirm_version and not sub.active:
        # Subscribing again sent a newer link; this one only says so (its POST would refuse).
        raise SubscriptionError("This confirmation link was already used or replaced.")
    return sub


# Links name their subscription by key, and SQLite gives the key of a deleted last row to the
# next one: a link made before the row existed was for a removed subscription, never this one.
# (A link is made after its row; its expiry's whole seconds put ``issued`` up to 1 s early.)
_ISSUE_SLACK = timedelta(seconds=2)


def _linked(conn: Connection, data: tokens.Token) -> Subscription:
    """The subscription a genuine link names, unless the link was made for a removed one."""
    sub = get_subscription(conn, data.subscription_pk)
    if sub is None or data.issued + _ISSUE_SLACK < sub.created_at:
        raise SubscriptionError("This subscription no longer exists.")
    return sub


def unsubscribe(
    engine: Engine, settings: Settings, token: str, now: datetime | None = None
) -> Subscription:
    """Turn the subscription off (idempotent: a repeat is not an error)."""
    now = now or datetime.now(UTC)
    sub = subscription_for(engine, settings, token, "unsubscribe", now)
    with write_transaction(engine) as conn:
        conn.execute(
            update(subscriptions)
            .where(subscriptions.c.pk == sub.pk, subscriptions.c.unsubscribed_at.is_(None))
            .values(unsubscribed_at=now)
        )
        changed = get_subscription(conn, sub.pk)
    assert changed is not None
    return changed


def update_preferences(
    engine: Engine,
    settings: Settings,
    token: str,
    frequency: str,
    query: str | None = None,
    now: datetime | None = None,
) -> Subscription:
    sub = subscription_for(engine, settings, token, "preferences", now)
    values: dict[str, object] = {"frequency": check_frequency(frequency)}
    if sub.kind == "topic" and query is not None:
        values["query"] = check_query(query)
    with write_transaction(engine) as conn:
        conn.execute(update(subscriptions).where(subscriptions.c.pk == sub.pk).values(**values))
        changed = get_subscription(conn, sub.pk)
    assert changed is not None
    return changed


def list_subscriptions(engine: Engine, email: str | None = None) -> list[Subscription]:
    query = _select().order_by(subscribers.c.email, subscriptions.c.pk)
    if email is not None:
        query = query.where(subscribers.c.email == normalise_email(email))
    with engine.connect() as conn:
        return [_row(row) for row in conn.execute(query)]


def remove_subscriber(engine: Engine, email: str) -> int:
    """Delete an address with all its subscriptions and history; returns subscriptions removed."""
    email = normalise_email(email)
    with write_transaction(engine) as conn:
        pk = conn.execute(select(subscribers.c.pk).where(subscribers.c.email == email)).scalar()
        if pk is None:
            return 0
        count = conn.execute(
            select(func.count()).where(subscriptions.c.subscriber_pk == pk)
        ).scalar_one()
        conn.execute(delete(subscribers).where(subscribers.c.pk == pk))
    return int(count)


def active_subscription_count(conn: Connection) -> int:
    """Confirmed, not unsubscribed subscriptions of addresses that are not suppressed."""
    return int(
        conn.execute(
            select(func.count())
            .select_from(
                subscriptions.join(subscribers, subscribers.c.pk == subscriptions.c.subscriber_pk)
            )
            .where(
                subscriptions.c.confirmed_at.is_not(None),
                subscriptions.c.unsubscribed_at.is_(None),
                subscribers.c.email.not_in(select(suppressions.c.email)),
            )
        ).scalar_one()
    )
