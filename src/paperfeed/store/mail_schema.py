"""Tables of email: subscribers, subscriptions, the outbox, digest history, suppressions.

Imported by ``schema``; they register on the one ``metadata`` (and ``alembic check``
compares them). Migration 0004 creates them.
"""

from __future__ import annotations

from sqlalchemy import (
    Column,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
    UniqueConstraint,
)

from paperfeed.store.metadata import metadata

subscribers = Table(
    "subscribers",
    metadata,
    Column("pk", Integer, primary_key=True, autoincrement=True),
    # Stored lower-cased: one subscriber per address whatever its spelling.
    Column("email", String(320), nullable=False, unique=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
    # Bounce state (Warehouse-like): soft bounces since the last delivery.
    Column("soft_bounces", Integer, nullable=False, default=0),
    Column("last_bounce_at", DateTime(timezone=True)),
    Column("last_delivery_at", DateTime(timezone=True)),
)

subscriptions = Table(
    "subscriptions",
    metadata,
    Column("pk", Integer, primary_key=True, autoincrement=True),
    Column(
        "subscriber_pk",
        ForeignKey("subscribers.pk", ondelete="CASCADE"),
        nullable=False,
        index=True,
    ),
    Column("kind", String(16), nullable=False),  # "trending", "topic" or "for_you"
    Column("query", Text, nullable=False, default=""),  # the topic's search ("" otherwise)
    Column("frequency", String(8), nullable=False),  # "daily" or "weekly"
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("confirmed_at", DateTime(timezone=True)),
    Column("unsubscribed_at", DateTime(timezone=True)),
    # Bumped when a confirmation is (re)sent: older confirm links stop working.
    Column("confirm_version", Integer, nullable=False, default=0),
    # The last period a digest was prepared for ("2026-11-25" / "2026-W48"), and where its
    # window ended: the next digest holds papers since then.
    Column("last_period", String(16)),
    Column("last_window_end", DateTime(timezone=True)),
    UniqueConstraint("subscriber_pk", "kind", "query", name="uq_subscriptions_subscriber_kind"),
)

outbox = Table(
    "outbox",
    metadata,
    Column("pk", Integer, primary_key=True, autoincrement=True),
    Column(
        "subscription_pk",
        ForeignKey("subscriptions.pk", ondelete="CASCADE"),
        nullable=False,
    ),
    Column("period", String(16), nullable=False),
    Column("email", String(320), nullable=False),
    # JSON list of paper pks, in digest order: the content, fixed when the row is created.
    Column("paper_pks", Text, nullable=False),
    Column("window_start", DateTime(timezone=True)),
    Column("window_end", DateTime(timezone=True), nullable=False),
    Column("message_id", String(255), nullable=False, unique=True),
    # queued -> sending (leased) -> sent | failed | skipped (unsubscribed / suppressed)
    Column("status", String(16), nullable=False),
    Column("attempts", Integer, nullable=False, default=0),
    Column("next_attempt_at", DateTime(timezone=True), nullable=False),
    Column("lease_until", DateTime(timezone=True)),
    Column("last_error", Text),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("sent_at", DateTime(timezone=True)),
    # At most one digest per (subscription, period), whoever creates it.
    UniqueConstraint("subscription_pk", "period", name="uq_outbox_subscription_period"),
    Index("ix_outbox_status_next_attempt_at", "status", "next_attempt_at"),
)

digest_history = Table(
    "digest_history",
    metadata,
    # Every paper a subscription was given: a later digest never repeats one.
    Column(
        "subscription_pk",
        ForeignKey("subscriptions.pk", ondelete="CASCADE"),
        primary_key=True,
    ),
    Column("paper_pk", ForeignKey("papers.pk", ondelete="CASCADE"), primary_key=True),
    Column("outbox_pk", ForeignKey("outbox.pk", ondelete="CASCADE"), nullable=False, index=True),
)

suppressions = Table(
    "suppressions",
    metadata,
    # Addresses nothing more is sent to (hard bounce, complaint, soft bounces, 5xx, operator).
    Column("email", String(320), primary_key=True),
    Column("reason", String(32), nullable=False),
    Column("detail", Text, nullable=False, default=""),
    Column("created_at", DateTime(timezone=True), nullable=False),
)

mail_events = Table(
    "mail_events",
    metadata,
    # Bounce / complaint / delivery reports fed in, for the operator to audit.
    Column("pk", Integer, primary_key=True, autoincrement=True),
    Column("email", String(320), nullable=False, index=True),
    Column("kind", String(16), nullable=False),  # hard_bounce, soft_bounce, complaint, delivery
    Column("detail", Text, nullable=False, default=""),
    Column("created_at", DateTime(timezone=True), nullable=False),
)
