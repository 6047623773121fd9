"""The page generation (store/page_generation.py, migration 0009) on both backends: moved by
every write to a table that pages show, inside the writing transaction, by nothing else."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import Engine, insert, update

from paperfeed.store.community_schema import rate_events
from paperfeed.store.engine import write_transaction
from paperfeed.store.page_generation import current
from paperfeed.store.schema import papers
from tests.factories import add_paper


def _generation(engine: Engine) -> int:
    with engine.connect() as conn:
        return current(conn)


def test_a_write_to_papers_moves_the_generation(engine: Engine) -> None:
    before = _generation(engine)
    pk = add_paper(engine, "2401.12345")
    after_insert = _generation(engine)
    assert after_insert > before
    with write_transaction(engine) as conn:
        conn.execute(update(papers).where(papers.c.pk == pk).values(hidden_at=datetime.now(UTC)))
    assert _generation(engine) > after_insert


def test_a_rolled_back_write_leaves_it(engine: Engine) -> None:
    add_paper(engine, "2401.12345")
    before = _generation(engine)
    with pytest.raises(RuntimeError), write_transaction(engine) as conn:
        conn.execute(update(papers).values(title="changed"))
        raise RuntimeError("abort")
    assert _generation(engine) == before


def test_a_write_no_page_shows_leaves_it(engine: Engine) -> None:
    before = _generation(engine)
    with write_transaction(engine) as conn:
        row = {"kind": "login", "key": "ip:127.0.0.1", "at": datetime.now(UTC)}
        conn.execute(insert(rate_events).values(row))
    assert _generation(engine) == before


def test_postgresql_moves_it_once_per_transaction(engine: Engine) -> None:
    if engine.dialect.name != "postgresql":
        pytest.skip("SQLite moves it once per row (its triggers are per row only)")
    add_paper(engine, "2401.00001")
    add_paper(engine, "2401.00002")
    before = _generation(engine)
    with write_transaction(engine) as conn:
        conn.execute(update(papers).values(title="one"))
        conn.execute(update(papers).values(title="two"))
    assert _generation(engine) == before + 1
