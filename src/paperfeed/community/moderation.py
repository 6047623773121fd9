"""Curation and moderation by administrators, each action written to ``moderation_log``.

Administrators feature a paper on a chosen day, hide or unhide a paper or a comment, and
suspend or unsuspend an account (a suspended account's sessions end at once). Every action
records who did what, to what, and when, in the same transaction as the change.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime

from sqlalchemy import Connection, Engine, func, insert, select, update

from paperfeed.community.accounts import set_suspended
from paperfeed.community.comments import aware
from paperfeed.community.users import User
from paperfeed.rank.trending import record_activity
from paperfeed.store.community_schema import (
    comment_flags,
    comments,
    moderation_log,
    users,
)
from paperfeed.store.engine import write_transaction
from paperfeed.store.schema import papers


class ModerationError(ValueError):
    """An action that cannot be done; the message says why."""


class NotAdmin(PermissionError):
    """Only administrators moderate."""


@dataclass(frozen=True, slots=True)
class LogEntry:
    created_at: datetime
    actor: str | None
    action: str
    target_kind: str
    target: str
    detail: str


@dataclass(frozen=True, slots=True)
class FlaggedComment:
    pk: int
    paper_id: str
    paper_title: str
    author: str
    body: str
    flags: int
    reasons: list[str]
    hidden: bool
    deleted: bool


def _now() -> datetime:
    return datetime.now(UTC)


def _require_admin(actor: User) -> None:
    if not actor.is_admin:
        raise NotAdmin("Only administrators can do this.")


def _log(
    conn: Connection, actor: User, action: str, kind: str, target: str, detail: str = ""
) -> None:
    row = {
        "actor_pk": actor.pk,
        "action": action,
        "target_kind": kind,
        "target": target[:64],
        "detail": detail,
        "created_at": _now(),
    }
    conn.execute(insert(moderation_log).values(row))


def _paper_pk(conn: Connection, paper_id: str) -> int:
    pk = conn.execute(select(papers.c.pk).where(papers.c.id == paper_id)).scalar()
    if pk is None:
        raise ModerationError(f"There is no paper {paper_id}.")
    return int(pk)


def feature_paper(engine: Engine, actor: User, paper_id: str, day: date | None) -> None:
    """Feature the paper on ``day`` (None takes it off the daily pages)."""
    _require_admin(actor)
    with write_transaction(engine) as conn:
        pk = _paper_pk(conn, paper_id)
        conn.execute(update(papers).where(papers.c.pk == pk).values(featured_day=day))
        action = "feature" if day else "unfeature"
        _log(conn, actor, action, "paper", paper_id, day.isoformat() if day else "")


def set_paper_hidden(
    engine: Engine, actor: User, paper_id: str, hidden: bool, reason: str = ""
) -> None:
    _require_admin(actor)
    with write_transaction(engine) as conn:
        pk = _paper_pk(conn, paper_id)
        conn.execute(
            update(papers).where(papers.c.pk == pk).values(hidden_at=_now() if hidden else None)
        )
        _log(conn, actor, "hide" if hidden else "unhide", "paper", paper_id, reason.strip())


def set_comment_hidden(
    engine: Engine, actor: User, comment_pk: int, hidden: bool, reason: str = ""
) -> None:
    """Hide or show a comment; a hidden comment no longer counts for its paper's trending."""
    _require_admin(actor)
    with write_transaction(engine) as conn:
        row = conn.execute(select(comments).where(comments.c.pk == comment_pk)).first()
        if row is None:
            raise ModerationError(f"There is no comment {comment_pk}.")
        was_hidden = row.hidden_at is not None
        if was_hidden != hidden:
            change = update(comments).where(comments.c.pk == comment_pk)
            conn.execute(change.values(hidden_at=_now() if hidden else None))
            if row.deleted_at is None:
                record_activity(conn, row.paper_pk, "comment", -1 if hidden else 1)
        action = "hide" if hidden else "unhide"
        _log(conn, actor, action, "comment", str(comment_pk), reason.strip())


def set_user_suspended(
    engine: Engine, actor: User, username: str, suspended: bool, reason: str = ""
) -> None:
    """Suspend (and sign out everywhere) or reinstate an account, as ``actor`` (an admin)."""
    _require_admin(actor)
    with engine.connect() as conn:
        pk = conn.execute(select(users.c.pk).where(users.c.username == username)).scalar()
    if pk is None:
        raise ModerationError(f"There is no account {username!r}.")
    if pk == actor.pk and suspended:
        raise ModerationError("You cannot suspend your own account.")
    set_suspended(engine, pk, suspended, actor_pk=actor.pk, reason=reason)


def moderation_log_entries(engine: Engine, limit: int = 100) -> list[LogEntry]:
    query = (
        select(moderation_log, users.c.username)
        .outerjoin(users, users.c.pk == moderation_log.c.actor_pk)
        .order_by(moderation_log.c.created_at.desc(), moderation_log.c.pk.desc())
        .limit(limit)
    )
    with engine.connect() as conn:
        return [
            LogEntry(
                aware(r.created_at) or r.created_at,
                r.username,
                r.action,
                r.target_kind,
                r.target,
                r.detail,
            )
            for r in conn.execute(query)
        ]


def flagged_comments(engine: Engine, limit: int = 100) -> list[FlaggedComment]:
    """Comments with flags, most flagged first; hidden ones too, so they can be restored."""
    counts = (
        select(comment_flags.c.comment_pk, func.count().label("flags"))
        .group_by(comment_flags.c.comment_pk)
        .subquery()
    )
    query = (
        select(
            comments.c.pk,
            comments.c.body,
            comments.c.hidden_at,
            comments.c.deleted_at,
            papers.c.id.label("paper_id"),
            papers.c.title,
            users.c.username,
            counts.c.flags,
        )
        .join(counts, counts.c.comment_pk == comments.c.pk)
        .join(papers, papers.c.pk == comments.c.paper_pk)
        .join(users, users.c.pk == comments.c.user_pk)
        .order_by(counts.c.flags.desc(), comments.c.pk.desc())
        .limit(limit)
    )
    with engine.connect() as conn:
        rows = conn.execute(query).all()
        reasons: dict[int, list[str]] = {}
        if rows:
            found = conn.execute(
                select(comment_flags.c.comment_pk, comment_flags.c.reason).where(
                    comment_flags.c.comment_pk.in_([r.pk for r in rows]),
                    comment_flags.c.reason != "",
                )
            )
            for comment_pk, reason in found:
                reasons.setdefault(comment_pk, []).append(reason)
    return [
        FlaggedComment(
            r.pk,
            r.paper_id,
            r.title,
            r.username,
            r.body,
            int(r.flags),
            reasons.get(r.pk, []),
            r.hidden_at is not None,
            r.deleted_at is not None,
        )
        for r in rows
    ]
