"""Comments on papers: Markdown source stored as written, rendered through the safe renderer.

People edit and delete their own comments (a deleted comment stays in the thread as
"[deleted]"); anyone signed in may flag a comment for the moderators; administrators hide.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from markupsafe import Markup
from sqlalchemy import (
    ColumnElement,
    Connection,
    Engine,
    Row,
    Subquery,
    func,
    insert,
    select,
    update,
)

from paperfeed.community.markdown import render_markdown
from paperfeed.community.ratelimit import DAY, RateLimited, record_attempt
from paperfeed.community.users import User
from paperfeed.community.votes import insert_ignoring_duplicates
from paperfeed.config import get_settings
from paperfeed.rank.trending import record_activity
from paperfeed.store.community_schema import comment_flags, comments, users
from paperfeed.store.engine import write_transaction

MAX_COMMENT_CHARS = 10_000
BURST = timedelta(minutes=10)
MAX_FLAG_REASON_CHARS = 500
DELETED = "[deleted]"
HIDDEN = "[hidden by a moderator]"


class CommentError(ValueError):
    """A comment that cannot be stored as given; the message is for the person writing it."""


class CommentRateLimited(CommentError):
    """Too many comments from one account; ``retry_after`` is seconds until the next one."""

    def __init__(self, retry_after: int) -> None:
        super().__init__(
            f"You have commented a lot in a short time; try again in {retry_after} seconds."
        )
        self.retry_after = retry_after


class CommentNotFound(LookupError):
    """No such comment (or it belongs to another paper)."""


class NotYourComment(PermissionError):
    """Someone tried to change another person's comment."""


@dataclass(frozen=True, slots=True)
class CommentView:
    pk: int
    paper_pk: int
    author: str
    author_pk: int
    body: str  # the Markdown source ("" once deleted)
    html: Markup  # what the page shows: safe HTML, or the deleted/hidden placeholder
    created_at: datetime
    edited_at: datetime | None
    deleted: bool
    hidden: bool
    flags: int

    @property
    def visible(self) -> bool:
        return not self.deleted and not self.hidden


def check_body(body: str) -> str:
    """The comment text to store, or CommentError with the reason."""
    text = body.replace("\r\n", "\n").strip()
    if not text:
        raise CommentError("Write something first: the comment is empty.")
    if len(text) > MAX_COMMENT_CHARS:
        raise CommentError(
            f"The comment is too long ({len(text):,} characters; at most {MAX_COMMENT_CHARS:,})."
        )
    if "\x00" in text:
        raise CommentError("The comment contains a NUL character.")
    return text


def _now() -> datetime:
    return datetime.now(UTC)


def aware(moment: datetime | None) -> datetime | None:
    """A stored time as UTC-aware (SQLite hands datetimes back naive; they were UTC)."""
    if moment is None or moment.tzinfo is not None:
        return moment
    return moment.replace(tzinfo=UTC)


def add_comment(engine: Engine, author: User, paper_pk: int, body: str) -> int:
    """Store a new comment by ``author`` and count it for trending; returns its pk.

    Each account may post ``COMMENT_BURST`` comments in 10 minutes and ``COMMENTS_PER_DAY`` a
    day (CommentRateLimited past them): a conversation passes, a loop does not. Trending
    counts commenters, not comments (``rank.trending``)."""
    text = check_body(body)
    now = _now()
    row = {"paper_pk": paper_pk, "user_pk": author.pk, "body": text, "created_at": now}
    with write_transaction(engine) as conn:
        _limit(conn, author.pk, now)
        pk: int = conn.execute(insert(comments).values(row).returning(comments.c.pk)).scalar_one()
        record_activity(conn, paper_pk, "comment", 1)
    return pk


def _limit(conn: Connection, user_pk: int, now: datetime) -> None:
    settings = get_settings()
    limits = {"comment-burst": (settings.comment_burst, BURST)}
    limits["comment-day"] = (settings.comments_per_day, DAY)
    for kind, (limit, window) in limits.items():
        try:
            record_attempt(conn, kind, str(user_pk), limit, window, now)
        except RateLimited as limited:
            raise CommentRateLimited(limited.retry_after) from None


def _own(conn: Connection, user: User, comment_pk: int) -> Row:
    row = conn.execute(select(comments).where(comments.c.pk == comment_pk)).first()
    if row is None:
        raise CommentNotFound(f"There is no comment {comment_pk}.")
    if row.user_pk != user.pk:
        raise NotYourComment("You can only change your own comments.")
    if row.deleted_at is not None:
        raise CommentError("This comment was deleted.")
    return row


def edit_comment(engine: Engine, user: User, comment_pk: int, body: str) -> None:
    text = check_body(body)
    with write_transaction(engine) as conn:
        _own(conn, user, comment_pk)
        change = update(comments).where(comments.c.pk == comment_pk)
        conn.execute(change.values(body=text, edited_at=_now()))


def delete_comment(engine: Engine, user: User, comment_pk: int) -> None:
    """Soft delete: the thread keeps its place and shows "[deleted]"; the text is dropped."""
    with write_transaction(engine) as conn:
        row = _own(conn, user, comment_pk)
        change = update(comments).where(
            comments.c.pk == comment_pk, comments.c.deleted_at.is_(None)
        )
        done = change.values(body="", deleted_at=_now()).returning(comments.c.pk)
        if conn.execute(done).first() and not row.hidden_at:
            record_activity(conn, row.paper_pk, "comment", -1)


def flag_comment(engine: Engine, user: User, comment_pk: int, reason: str = "") -> bool:
    """Flag a comment for the moderators; False when this user had flagged it already."""
    reason = reason.strip()[:MAX_FLAG_REASON_CHARS]
    with write_transaction(engine) as conn:
        exists = conn.execute(select(comments.c.pk).where(comments.c.pk == comment_pk)).first()
        if exists is None:
            raise CommentNotFound(f"There is no comment {comment_pk}.")
        row = {"comment_pk": comment_pk, "user_pk": user.pk, "reason": reason, "created_at": _now()}
        flag = insert_ignoring_duplicates(conn, comment_flags).values(row)
        added = conn.execute(flag.returning(comment_flags.c.comment_pk)).first()
    return added is not None


def comment_paper_pk(engine: Engine, comment_pk: int) -> int:
    with engine.connect() as conn:
        pk = conn.execute(select(comments.c.paper_pk).where(comments.c.pk == comment_pk)).scalar()
    if pk is None:
        raise CommentNotFound(f"There is no comment {comment_pk}.")
    return int(pk)


def _flag_counts() -> Subquery:
    return (
        select(comment_flags.c.comment_pk, func.count().label("flags"))
        .group_by(comment_flags.c.comment_pk)
        .subquery()
    )


def _views(
    conn: Connection, where: ColumnElement[bool], show_hidden: bool, limit: int | None = None
) -> list[CommentView]:
    flags = _flag_counts()
    query = (
        select(comments, users.c.username, func.coalesce(flags.c.flags, 0).label("flags"))
        .join(users, users.c.pk == comments.c.user_pk)
        .outerjoin(flags, flags.c.comment_pk == comments.c.pk)
        .where(where)
        .order_by(comments.c.created_at, comments.c.pk)
    )
    if limit is not None:
        query = query.limit(limit)
    return [_view(row, show_hidden) for row in conn.execute(query)]


def _view(row: Row, show_hidden: bool) -> CommentView:
    deleted, hidden = row.deleted_at is not None, row.hidden_at is not None
    if deleted:
        html = Markup("<p>{}</p>").format(DELETED)
    elif hidden and not show_hidden:
        html = Markup("<p>{}</p>").format(HIDDEN)
    else:
        html = render_markdown(row.body)
    return CommentView(
        pk=row.pk,
        paper_pk=row.paper_pk,
        author=row.username,
        author_pk=row.user_pk,
        body="" if deleted or (hidden and not show_hidden) else row.body,
        html=html,
        created_at=aware(row.created_at) or row.created_at,
        edited_at=aware(row.edited_at),
        deleted=deleted,
        hidden=hidden,
        flags=int(row.flags),
    )


def list_comments(engine: Engine, paper_pk: int, viewer: User | None = None) -> list[CommentView]:
    """The thread of a paper, oldest first; administrators see hidden comments' text."""
    show_hidden = viewer is not None and viewer.is_admin
    with engine.connect() as conn:
        return _views(conn, comments.c.paper_pk == paper_pk, show_hidden)


def get_comment(engine: Engine, comment_pk: int, viewer: User | None = None) -> CommentView:
    show_hidden = viewer is not None and viewer.is_admin
    with engine.connect() as conn:
        found = _views(conn, comments.c.pk == comment_pk, show_hidden)
    if not found:
        raise CommentNotFound(f"There is no comment {comment_pk}.")
    return found[0]
