"""Test data in one call each (as Warehouse's ``UserFactory``): papers, users, signed-in clients.

Papers go through ingest's own ``prepare`` and ``upsert_batch``, as every source's do. Users are
written straight into the ``users`` table (accounts' rules have their own tests), unless a test
needs the real registration (``register_user``). Sessions come from
``community.sessions.start_session`` and travel in the ``__Host-`` cookie, which only an https
base URL keeps.
"""

from __future__ import annotations

import itertools
from datetime import UTC, date, datetime, timedelta

from fastapi.testclient import TestClient
from sqlalchemy import Engine, insert, select

from paperfeed.community import accounts
from paperfeed.community.passwords import hash_password
from paperfeed.community.sessions import start_session
from paperfeed.community.users import User, get_user
from paperfeed.domain import PaperRecord
from paperfeed.ingest.normalise import Prepared, prepare
from paperfeed.ingest.upsert import upsert_batch
from paperfeed.store.community_schema import users
from paperfeed.store.engine import write_transaction
from paperfeed.store.schema import papers
from paperfeed.web.app import create_app
from paperfeed.web.auth_deps import SESSION_COOKIE

BASE = "https://testserver"
PASSWORD = "correct horse battery staple"
_names = itertools.count(1)


def add_papers(engine: Engine, *records: PaperRecord) -> dict[str, int]:
    """Store ``records`` as an ingest would; return the pk of every stored paper by its id."""
    return _upsert(engine, [_prepared(record) for record in records])


def add_paper(engine: Engine, arxiv_id: str | None = "2401.12345", **fields: object) -> int:
    """Store one paper (an invented title and abstract unless given) and return its pk."""
    item = _prepared(
        PaperRecord(
            id=arxiv_id,
            title=str(fields.pop("title", f"A paper {arxiv_id}")),
            abstract=str(fields.pop("abstract", "An abstract.")),
            authors=list(fields.pop("authors", ["Ada Lovelace"])),  # type: ignore[call-overload]
            featured_day=fields.pop("featured_day", date(2026, 5, 4)),  # type: ignore[arg-type]
        )
    )
    return _upsert(engine, [item])[item.id]


def _prepared(record: PaperRecord) -> Prepared:
    item = prepare(record)
    assert isinstance(item, Prepared), item
    return item


def _upsert(engine: Engine, items: list[Prepared]) -> dict[str, int]:
    with write_transaction(engine) as conn:
        upsert_batch(conn, items)
        return {row.id: row.pk for row in conn.execute(select(papers.c.id, papers.c.pk))}


def add_user(
    engine: Engine,
    name: str | None = None,
    *,
    admin: bool = False,
    age: timedelta | None = None,
    password: str | None = None,
) -> int:
    """Insert an account and return its pk. ``age`` backdates its creation (default 30 days);
    with a ``password`` it can log in (a real hash, slow on purpose: only where needed)."""
    name = name or f"user{next(_names)}"
    created = datetime.now(UTC) - (age if age is not None else timedelta(days=30))
    row = {
        "username": name,
        "email": f"{name}@example.org",
        "password_hash": hash_password(password) if password else "not-a-real-hash",
        "is_admin": admin,
        "created_at": created,
    }
    with write_transaction(engine) as conn:
        pk: int = conn.execute(insert(users).values(row).returning(users.c.pk)).scalar_one()
    return pk


def load_user(engine: Engine, pk: int) -> User:
    """The account ``pk`` as the community code receives it."""
    with engine.connect() as conn:
        user = get_user(conn, pk)
    assert user is not None, f"no user {pk}"
    return user


def register_user(
    engine: Engine, name: str = "ada", password: str = PASSWORD, email: str | None = None
) -> User:
    """An account made by the real registration (its checks, its normalisation)."""
    return accounts.register(engine, name, email or f"{name}@example.org", password)


def signed_in(engine: Engine, user_pk: int) -> TestClient:
    """A TestClient (not yet entered) carrying a fresh session of ``user_pk``."""
    client = anonymous()
    client.cookies.set(SESSION_COOKIE, start_session(engine, user_pk))
    return client


def anonymous() -> TestClient:
    """A TestClient (not yet entered) of a visitor who is not signed in."""
    return TestClient(create_app(), base_url=BASE)


def form_token(client: TestClient, path: str = "/library") -> str:
    """The CSRF form token the site hands this client (read from a page's hidden field)."""
    html = client.get(path).text
    marker = 'name="csrf_token" value="'
    start = html.index(marker) + len(marker)
    return html[start : html.index('"', start)]
