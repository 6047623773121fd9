"""Fixtures for the mail tests: a real SMTP server on loopback, settings, papers, subscribers."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import Engine, update

from paperfeed import config
from paperfeed.config import Settings
from paperfeed.domain import PaperRecord
from paperfeed.mail import subscriptions as subs
from paperfeed.mail.subscriptions import Subscription
from paperfeed.store.engine import write_transaction
from paperfeed.store.schema import papers
from tests.conftest import arxiv_rows
from tests.factories import add_papers
from tests.mail.smtp_server import SmtpRecorder, smtp_server

BASE_URL = "https://papers.example.org"
SECRET = "test-secret-key-for-mail-links"


@dataclass
class Smtp:
    recorder: SmtpRecorder
    port: int


@pytest.fixture
def smtp(monkeypatch: pytest.MonkeyPatch) -> Iterator[Smtp]:
    """A real aiosmtpd server on 127.0.0.1; the settings send through it."""
    with smtp_server() as (recorder, port):
        monkeypatch.setenv("PAPERFEED_SMTP_URL", f"smtp://127.0.0.1:{port}?timeout=10")
        monkeypatch.setenv("PAPERFEED_BASE_URL", BASE_URL)
        monkeypatch.setenv("PAPERFEED_SECRET_KEY", SECRET)
        config.get_settings.cache_clear()
        yield Smtp(recorder, port)
    config.get_settings.cache_clear()


@pytest.fixture
def settings(smtp: Smtp, engine: Engine) -> Settings:
    """Settings of a migrated database (``engine``) that mails through ``smtp``."""
    config.get_settings.cache_clear()
    return config.get_settings()


def store_papers(
    engine: Engine, count: int, start: int = 0, first_seen: datetime | None = None
) -> list[str]:
    """Store ``count`` real arXiv papers; returns their ids (first seen at ``first_seen``)."""
    rows = arxiv_rows(count, start)
    records = [
        PaperRecord(
            id=str(row["id"]),
            title=str(row["title"]),
            abstract=str(row["abstract"]),
            authors=_authors(row["authors"]),
            categories=list(row["categories"]),  # type: ignore[call-overload]
            published=date.fromisoformat(str(row["listed"])),
        )
        for row in rows
    ]
    add_papers(engine, *records)
    ids = [str(row["id"]) for row in rows]
    if first_seen is not None:
        with write_transaction(engine) as conn:
            conn.execute(
                update(papers).where(papers.c.id.in_(ids)).values(first_seen_at=first_seen)
            )
    return ids


def _authors(value: object) -> list[str]:
    if isinstance(value, list):
        return [str(v) for v in value]
    import ast

    parsed = ast.literal_eval(str(value))
    return [str(v) for v in parsed]


def set_upvotes(engine: Engine, paper_id: str, upvotes: int) -> None:
    with write_transaction(engine) as conn:
        conn.execute(update(papers).where(papers.c.id == paper_id).values(external_upvotes=upvotes))


def confirmed(
    engine: Engine,
    email: str,
    frequency: str = "daily",
    kind: str = "trending",
    query: str = "",
    at: datetime | None = None,
) -> Subscription:
    """A subscription confirmed through its real confirm token."""
    settings = config.get_settings()
    at = at or datetime.now(UTC) - timedelta(days=2)
    sub, needs = subs.subscribe(engine, email, frequency, kind, query, now=at)
    assert needs
    token = subs.confirm_url(settings, sub, at).rsplit("/", 1)[1]
    return subs.confirm(engine, settings, token, now=at)
