"""Accounts as the rest of paperfeed sees them: a small frozen ``User`` and lookups by key."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, Row, select

from paperfeed.store.community_schema import users


@dataclass(frozen=True, slots=True)
class User:
    pk: int
    username: str
    email: str
    is_admin: bool
    suspended_at: datetime | None
    created_at: datetime

    @property
    def suspended(self) -> bool:
        return self.suspended_at is not None


def user_from_row(row: Row) -> User:
    return User(
        pk=row.pk,
        username=row.username,
        email=row.email,
        is_admin=bool(row.is_admin),
        suspended_at=row.suspended_at,
        created_at=row.created_at,
    )


_COLUMNS = (
    users.c.pk,
    users.c.username,
    users.c.email,
    users.c.is_admin,
    users.c.suspended_at,
    users.c.created_at,
)


def get_user(conn: Connection, pk: int) -> User | None:
    row = conn.execute(select(*_COLUMNS).where(users.c.pk == pk)).first()
    return user_from_row(row) if row else None
