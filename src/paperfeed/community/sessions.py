"""Sign-in sessions and API tokens: random tokens handed out once, stored only as hashes."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine, delete, insert, select, update

from paperfeed.community.users import User, user_from_row
from paperfeed.store.community_schema import api_tokens, sessions, users
from paperfeed.store.engine import write_transaction

SESSION_LIFETIME = timedelta(days=30)
API_TOKEN_PREFIX = "pf_"
TOKEN_STAMP = timedelta(minutes=1)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _now() -> datetime:
    return datetime.now(UTC)


def start_session(engine: Engine, user_pk: int) -> str:
    """A new session for ``user_pk``; the returned token goes in the cookie and nowhere else."""
    token = secrets.token_urlsafe(32)
    now = _now()
    row = {
        "token_hash": token_hash(token),
        "user_pk": user_pk,
        "created_at": now,
        "expires_at": now + SESSION_LIFETIME,
    }
    with write_transaction(engine) as conn:
        # The account's expired sessions go now: no sweeper job is needed to keep the table small.
        expired = (sessions.c.user_pk == user_pk) & (sessions.c.expires_at <= now)
        conn.execute(delete(sessions).where(expired))
        conn.execute(insert(sessions).values(row))
    return token


def end_session(engine: Engine, token: str) -> None:
    """Forget the session: the old cookie, replayed, is then refused."""
    with write_transaction(engine) as conn:
        conn.execute(delete(sessions).where(sessions.c.token_hash == token_hash(token)))


def session_user(engine: Engine, token: str) -> User | None:
    """The active (unexpired, not suspended) user of the session with ``token``."""
    query = (
        select(users)
        .join(sessions, sessions.c.user_pk == users.c.pk)
        .where(sessions.c.token_hash == token_hash(token), sessions.c.expires_at > _now())
    )
    with engine.connect() as conn:
        row = conn.execute(query).first()
    user = user_from_row(row) if row else None
    return None if user is None or user.suspended else user


def create_api_token(engine: Engine, user_pk: int, name: str) -> str:
    """A new API token for scripts (``Authorization: Bearer pf_...``), shown once."""
    token = API_TOKEN_PREFIX + secrets.token_urlsafe(32)
    row = {"user_pk": user_pk, "name": name, "token_hash": token_hash(token), "created_at": _now()}
    with write_transaction(engine) as conn:
        conn.execute(insert(api_tokens).values(row))
    return token


def api_token_user(engine: Engine, token: str) -> User | None:
    """The active user owning API ``token``; records when the token was last used."""
    digest = token_hash(token)
    query = (
        select(users, api_tokens.c.last_used_at)
        .join(api_tokens, api_tokens.c.user_pk == users.c.pk)
        .where(api_tokens.c.token_hash == digest)
    )
    with engine.connect() as conn:
        row = conn.execute(query).first()
    user = user_from_row(row) if row else None
    if row is None or user is None or user.suspended:
        return None
    now = _now()
    last = row.last_used_at
    # A script making many calls must not turn each into a write: stamp at most once a minute.
    if last is None or (last if last.tzinfo else last.replace(tzinfo=UTC)) < now - TOKEN_STAMP:
        with write_transaction(engine) as conn:
            stamp = update(api_tokens).where(api_tokens.c.token_hash == digest)
            conn.execute(stamp.values(last_used_at=now))
    return user


@dataclass(frozen=True, slots=True)
class ApiToken:
    """An API token as the account page lists it (the token itself is never kept)."""

    pk: int
    name: str
    created_at: datetime
    last_used_at: datetime | None


def list_api_tokens(engine: Engine, user_pk: int) -> list[ApiToken]:
    columns = (api_tokens.c.pk, api_tokens.c.name, api_tokens.c.created_at)
    query = (
        select(*columns, api_tokens.c.last_used_at)
        .where(api_tokens.c.user_pk == user_pk)
        .order_by(api_tokens.c.created_at.desc(), api_tokens.c.pk.desc())
    )
    with engine.connect() as conn:
        return [ApiToken(*row) for row in conn.execute(query)]


def revoke_api_token(engine: Engine, user_pk: int, token_pk: int) -> bool:
    """Delete one of ``user_pk``'s tokens; False when it has no token ``token_pk``."""
    with write_transaction(engine) as conn:
        owned = (api_tokens.c.pk == token_pk) & (api_tokens.c.user_pk == user_pk)
        return conn.execute(delete(api_tokens).where(owned)).rowcount == 1
