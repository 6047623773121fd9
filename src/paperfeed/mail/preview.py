"""Previews of a digest: what a trending digest or one subscriber's next digest holds now."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from email.message import EmailMessage

from sqlalchemy import Engine

from paperfeed.config import Settings
from paperfeed.mail.digest import (
    Composer,
    DigestPaper,
    PaperCache,
    build_message,
    for_you_ranks,
    period_of,
)
from paperfeed.mail.subscriptions import (
    Subscription,
    SubscriptionError,
    list_subscriptions,
)

PREVIEW_ADDRESS = "preview@example.org"


class PreviewError(ValueError):
    pass


def sample_subscription(frequency: str, kind: str = "trending", query: str = "") -> Subscription:
    """A stand-in subscription (pk 0, never stored) for previews of public digests."""
    now = datetime.now(UTC)
    return Subscription(0, PREVIEW_ADDRESS, kind, query, frequency, now, now, None, 0, None, None)


def preview_papers(
    engine: Engine, settings: Settings, sub: Subscription, now: datetime | None = None
) -> list[DigestPaper]:
    now = now or datetime.now(UTC)
    for_you = for_you_ranks(engine, settings, [sub])
    with engine.connect() as conn:
        pks = Composer(conn, settings.digest_max_papers, None, for_you).pick([sub], now)[sub.pk]
        return PaperCache().get(conn, pks)


def preview_message(
    engine: Engine,
    settings: Settings,
    frequency: str | None,
    email: str | None = None,
    now: datetime | None = None,
) -> EmailMessage:
    """The digest as it would go out now: a sample trending one, or ``email``'s (its first
    subscription), at ``frequency`` or, for ``email`` without one, its own."""
    now = now or datetime.now(UTC)
    if email is None:
        sub = sample_subscription(frequency or "daily")
    else:
        try:
            subs = [s for s in list_subscriptions(engine, email) if s.status != "unsubscribed"]
        except SubscriptionError as error:
            raise PreviewError(str(error)) from None
        if not subs:
            raise PreviewError(f"{email} has no subscription")
        sub = replace(subs[0], frequency=frequency or subs[0].frequency)
    papers = preview_papers(engine, settings, sub, now)
    return build_message(settings, sub, period_of(sub.frequency, now), papers, now)
