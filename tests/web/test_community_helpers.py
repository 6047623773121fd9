"""Shared fixtures of the community tests: users inserted directly, signed-in test clients.

Users are written straight into the ``users`` table (the accounts code is another module's);
sessions come from ``community.sessions.start_session`` and travel in the ``__Host-`` cookie,
which only an https base URL keeps.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, insert, select

from paperfeed.community.sessions import start_session
from paperfeed.domain import PaperRecord
from paperfeed.ingest.normalise import Prepared, prepare
from paperfeed.ingest.upsert import upsert_batch
from paperfeed.store.community_schema import users
from paperfeed.store.engine import write_transaction
from paperfeed.store.schema import papers
from paperfeed.web.app import create_app
from paperfeed.web.auth_deps import SESSION_COOKIE

BASE = "https://testserver"
_names = itertools.count(1)


def add_user(
    engine: Engine, name: str | None = None, *, admin: bool = False, age: timedelta | None = None
) -> int:
    """Insert an account and return its pk; ``age`` backdates its creation."""
    name = name or f"user{next(_names)}"
    created = datetime.now(UTC) - (age if age is not None else timedelta(days=30))
    row = {
        "username": name,
        "email": f"{name}@example.org",
        "password_hash": "not-a-real-hash",
        "is_admin": admin,
        "created_at": created,
    }
    with write_transaction(engine) as conn:
        pk: int = conn.execute(insert(users).values(row).returning(users.c.pk)).scalar_one()
    return pk


def signed_in(engine: Engine, user_pk: int) -> TestClient:
    """A TestClient (not yet entered) carrying a fresh session of ``user_pk``."""
    client = TestClient(create_app(), base_url=BASE)
    client.cookies.set(SESSION_COOKIE, start_session(engine, user_pk))
    return client


def form_token(client: TestClient, path: str = "/library") -> str:
    """The CSRF form token the site hands this client (read from a page's hidden field)."""
    html = client.get(path).text
    marker = 'name="csrf_token" value="'
    start = html.index(marker) + len(marker)
    return html[start : html.index('"', start)]


def add_paper(engine: Engine, arxiv_id: str | None = "2401.12345", **fields: object) -> int:
    """Store one paper through the normal ingest path and return its pk."""
    record = PaperRecord(
        id=arxiv_id,
        title=str(fields.pop("title", f"A paper {arxiv_id}")),
        abstract=str(fields.pop("abstract", "An abstract.")),
        authors=list(fields.pop("authors", ["Ada Lovelace"])),  # type: ignore[call-overload]
        featured_day=fields.pop("featured_day", date(2026, 5, 4)),  # type: ignore[arg-type]
    )
    prepared = prepare(record)
    assert isinstance(prepared, Prepared)
    with write_transaction(engine) as conn:
        upsert_batch(conn, [prepared])
        pk: int = conn.execute(select(papers.c.pk).where(papers.c.id == prepared.id)).scalar_one()
    return pk


@pytest.fixture
def anon(engine: Engine) -> Iterator[TestClient]:
    with TestClient(create_app(), base_url=BASE) as client:
        yield client


def test_a_session_cookie_signs_the_user_in(engine: Engine) -> None:
    pk = add_user(engine, "alice")
    with signed_in(engine, pk) as client:
        assert "alice" in client.get("/").text
    with TestClient(create_app(), base_url=BASE) as client:
        assert "alice" not in client.get("/").text
