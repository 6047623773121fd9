"""A slice of real arXiv papers loaded through the ingest pipeline, on each backend."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from typing import Any

import pytest
from sqlalchemy import Engine

from paperfeed.domain import Link, PaperRecord
from paperfeed.ingest.normalise import Prepared, prepare
from paperfeed.ingest.upsert import upsert_batch
from paperfeed.store import migrate
from paperfeed.store.engine import make_engine, write_transaction
from tests.conftest import BACKENDS, arxiv_rows, new_postgres_database

SLICE = 2000
CODE_EVERY = 7  # every 7th paper gets a code link, for has:code


def real_papers(n: int = SLICE) -> list[dict[str, Any]]:
    return arxiv_rows(n)  # type: ignore[return-value]


def to_prepared(raw: dict[str, Any], index: int) -> Prepared:
    links = (
        [Link("code", f"https://github.com/example/r{index}")] if index % CODE_EVERY == 0 else []
    )
    record = PaperRecord(
        id=raw["id"],
        title=raw["title"],
        abstract=raw["abstract"],
        authors=raw["authors"],
        categories=raw["categories"],
        published=date.fromisoformat(raw["listed"]),
        links=links,
    )
    item = prepare(record)
    assert isinstance(item, Prepared)
    return item


@pytest.fixture(scope="module")
def papers() -> list[dict[str, Any]]:
    return real_papers()


@pytest.fixture(scope="module", params=BACKENDS)
def corpus(
    request: pytest.FixtureRequest,
    tmp_path_factory: pytest.TempPathFactory,
    papers: list[dict[str, Any]],
) -> Iterator[Engine]:
    """A migrated database on each backend (as the ``engine`` fixture makes them) holding
    the slice, written by the ingest upsert with the FTS index kept by triggers. Module
    scoped: loading real papers once per backend keeps the search tests quick."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp('search') / 'paperfeed.db'}"
    else:
        url = new_postgres_database(request.getfixturevalue("pg_server"))
    engine = make_engine(url)
    migrate.upgrade(engine)
    batch = [to_prepared(raw, i) for i, raw in enumerate(papers)]
    for start in range(0, len(batch), 1000):
        with write_transaction(engine) as conn:
            upsert_batch(conn, batch[start : start + 1000])
    yield engine
    engine.dispose()


def by_id(papers: list[dict[str, Any]], paper_id: str) -> dict[str, Any]:
    return next(p for p in papers if p["id"] == paper_id)
