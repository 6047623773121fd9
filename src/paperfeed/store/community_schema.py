"""Tables of the community: accounts, sessions, votes, comments, libraries, moderation, activity.

Imported by ``schema``; they register on the one ``metadata`` (and ``alembic check``
compares them). Migration 0003 creates them.
"""

from __future__ import annotations

from sqlalchemy import (
    Boolean,
    Column,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
)

from paperfeed.store.metadata import metadata

users = Table(
    "users",
    metadata,
    Column("pk", Integer, primary_key=True, autoincrement=True),
    Column("username", String(40), nullable=False, unique=True),
    # Stored lower-cased: one account per address whatever its spelling.
    Column("email", String(320), nullable=False, unique=True),
    Column("password_hash", Text, nullable=False),
    Column("is_admin", Boolean, nullable=False, default=False),
    Column("suspended_at", DateTime(timezone=True)),
    Column("created_at", DateTime(timezone=True), nullable=False),
)

sessions = Table(
    "sessions",
    metadata,
    # Only a hash of the cookie's token is stored: a leaked database holds no usable session.
    Column("token_hash", String(64), primary_key=True),
    Column("user_pk", ForeignKey("users.pk", ondelete="CASCADE"), nullable=False, index=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("expires_at", DateTime(timezone=True), nullable=False),
)

api_tokens = Table(
    "api_tokens",
    metadata,
    Column("pk", Integer, primary_key=True, autoincrement=True),
    Column("user_pk", ForeignKey("users.pk", ondelete="CASCADE"), nullable=False, index=True),
    Column("name", String(100), nullable=False),
    Column("token_hash", String(64), nullable=False, unique=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("last_used_at", DateTime(timezone=True)),
)

one_time_tokens = Table(
    "one_time_tokens",
    metadata,
    # Password resets and similar: a hash of the token, what it is for, and whether it was used.
    Column("token_hash", String(64), primary_key=True),
    Column("purpose", String(32), nullable=False),
    Column("user_pk", ForeignKey("users.pk", ondelete="CASCADE"), nullable=False, index=True),
    Column("expires_at", DateTime(timezone=True), nullable=False),
    Column("used_at", DateTime(timezone=True)),
)

rate_events = Table(
    "rate_events",
    metadata,
    # One row per attempt that a rate limit counts (login by account / by IP, subscribe, reset,
    # submit); old rows are pruned by the limiter.
    Column("pk", Integer, primary_key=True, autoincrement=True),
    Column("kind", String(32), nullable=False),
    Column("key", String(320), nullable=False),
    Column("at", DateTime(timezone=True), nullable=False),
    Index("ix_rate_events_kind_key_at", "kind", "key", "at"),
)

votes = Table(
    "votes",
    metadata,
    Column("user_pk", ForeignKey("users.pk", ondelete="CASCADE"), primary_key=True),
    Column("paper_pk", ForeignKey("papers.pk", ondelete="CASCADE"), primary_key=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Index("ix_votes_paper_pk", "paper_pk"),
)

comments = Table(
    "comments",
    metadata,
    Column("pk", Integer, primary_key=True, autoincrement=True),
    Column("paper_pk", ForeignKey("papers.pk", ondelete="CASCADE"), nullable=False, index=True),
    Column("user_pk", ForeignKey("users.pk", ondelete="CASCADE"), nullable=False, index=True),
    # The Markdown source as written; pages render it through the safe renderer.
    Column("body", Text, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("edited_at", DateTime(timezone=True)),
    Column("deleted_at", DateTime(timezone=True)),
    Column("hidden_at", DateTime(timezone=True)),
)

comment_flags = Table(
    "comment_flags",
    metadata,
    Column("comment_pk", ForeignKey("comments.pk", ondelete="CASCADE"), primary_key=True),
    Column("user_pk", ForeignKey("users.pk", ondelete="CASCADE"), primary_key=True),
    Column("reason", Text, nullable=False, default=""),
    Column("created_at", DateTime(timezone=True), nullable=False),
)

library_items = Table(
    "library_items",
    metadata,
    Column("user_pk", ForeignKey("users.pk", ondelete="CASCADE"), primary_key=True),
    Column("paper_pk", ForeignKey("papers.pk", ondelete="CASCADE"), primary_key=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
)

library_tags = Table(
    "library_tags",
    metadata,
    Column("user_pk", ForeignKey("users.pk", ondelete="CASCADE"), primary_key=True),
    Column("paper_pk", ForeignKey("papers.pk", ondelete="CASCADE"), primary_key=True),
    Column("tag", String(64), primary_key=True),
)

submissions = Table(
    "submissions",
    metadata,
    Column("pk", Integer, primary_key=True, autoincrement=True),
    Column("paper_pk", ForeignKey("papers.pk", ondelete="CASCADE"), nullable=False, index=True),
    Column("user_pk", ForeignKey("users.pk", ondelete="CASCADE"), nullable=False, index=True),
    Column("source", String(16), nullable=False),  # "arxiv" or "manual"
    Column("created_at", DateTime(timezone=True), nullable=False),
)

paper_activity = Table(
    "paper_activity",
    metadata,
    # Counts per paper, day and kind ("upvote", "comment", "view", "stars"): what trending's
    # velocities are computed from, without scanning votes or logs per request.
    Column("paper_pk", ForeignKey("papers.pk", ondelete="CASCADE"), primary_key=True),
    Column("day", Date, primary_key=True),
    Column("kind", String(16), primary_key=True),
    Column("count", Integer, nullable=False, default=0),
)

paper_stats = Table(
    "paper_stats",
    metadata,
    # Denormalised per-paper figures, updated when their inputs change, never per request.
    Column("paper_pk", ForeignKey("papers.pk", ondelete="CASCADE"), primary_key=True),
    Column("upvotes", Integer, nullable=False, default=0),
    Column("comments", Integer, nullable=False, default=0),
    Column("views", Integer, nullable=False, default=0),
    Column("trending_score", Float, nullable=False, default=0.0),
    # JSON object: the terms of the score ("why it is trending").
    Column("trending_terms", Text, nullable=False, default="{}"),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    Index("ix_paper_stats_trending_score", "trending_score"),
)

moderation_log = Table(
    "moderation_log",
    metadata,
    Column("pk", Integer, primary_key=True, autoincrement=True),
    Column("actor_pk", ForeignKey("users.pk", ondelete="SET NULL")),
    Column("action", String(32), nullable=False),
    Column("target_kind", String(16), nullable=False),  # "paper", "comment" or "user"
    Column("target", String(64), nullable=False),
    Column("detail", Text, nullable=False, default=""),
    Column("created_at", DateTime(timezone=True), nullable=False),
)

vote_firsts = Table(
    "vote_firsts",
    metadata,
    # When each account first upvoted each paper, kept after the vote is withdrawn: a vote
    # always counts on this day, so withdrawing and voting again cannot move it to today.
    Column("user_pk", ForeignKey("users.pk", ondelete="CASCADE"), primary_key=True),
    Column("paper_pk", ForeignKey("papers.pk", ondelete="CASCADE"), primary_key=True),
    Column("first_voted_at", DateTime(timezone=True), nullable=False),
)

view_visitors = Table(
    "view_visitors",
    metadata,
    # Who viewed a paper on a day, as a keyed hash (never an address or a browser string), so
    # a view counts once per person and day across batches, processes and servers. Rows
    # older than the trending window are pruned when views are flushed.
    Column("paper_pk", ForeignKey("papers.pk", ondelete="CASCADE"), primary_key=True),
    Column("day", Date, primary_key=True),
    Column("visitor", String(32), primary_key=True),
    Index("ix_view_visitors_day", "day"),
)
