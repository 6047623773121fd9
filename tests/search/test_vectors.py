"""Vector indexes: exact, the HNSW file beside SQLite (incremental, survives restarts), pgvector."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from sqlalchemy import Engine, select

from paperfeed.search import hnsw, vectors
from paperfeed.search.indexer import update_index
from paperfeed.search.vectors import ExactIndex, HnswIndex, PgVectorIndex, vector_index
from paperfeed.store.engine import is_sqlite, write_transaction
from paperfeed.store.schema import papers
from tests.search.dense_helpers import (
    CachedEmbedder,
    real_papers,
    store_papers,
    use_hnsw_file_from,
)

MODEL = "paperfeed-minilm-sci"


@pytest.fixture(autouse=True)
def _fresh_index_cache() -> None:
    vectors.forget_indexes()


def _top_ids(engine: Engine, query: str, k: int = 10) -> list[int]:
    vector = CachedEmbedder().embed_query(query)
    with engine.connect() as conn:
        return [h.pk for h in vector_index(conn, MODEL).search(conn, vector, k)]


def _exact_ids(engine: Engine, query: str, k: int = 10) -> list[int]:
    vector = CachedEmbedder().embed_query(query)
    with engine.connect() as conn:
        return [h.pk for h in ExactIndex(MODEL, 384).search(conn, vector, k)]


def test_each_backend_picks_its_index(engine: Engine) -> None:
    store_papers(engine, real_papers()[:10])
    report = update_index(engine, CachedEmbedder())
    with engine.connect() as conn:
        index = vector_index(conn, MODEL)
    if is_sqlite(engine):
        assert report.vector_index == "exact" and isinstance(index, ExactIndex)
    else:
        assert report.vector_index == "pgvector" and isinstance(index, PgVectorIndex)


def test_index_results_match_exact_search(engine: Engine) -> None:
    store_papers(engine, real_papers())
    update_index(engine, CachedEmbedder())
    for query in ("speech synthesis from text", "robot grasping", "machine translation"):
        assert _top_ids(engine, query, 5) == _exact_ids(engine, query, 5)


def test_hnsw_file_is_built_extended_and_survives_a_restart(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    if not is_sqlite(engine):
        pytest.skip("the HNSW file is the SQLite backend's index")
    use_hnsw_file_from(monkeypatch)
    rows = real_papers()
    store_papers(engine, rows[:60])
    assert update_index(engine, CachedEmbedder()).vector_index == "hnsw"
    path = hnsw.file_path(engine.url.database, MODEL)
    assert path is not None and Path(path).exists()
    state = hnsw.read_state(path)
    assert state is not None and state.count == 60

    store_papers(engine, rows[60:])  # new papers: found before and after the file catches up
    with engine.connect() as conn:
        assert isinstance(vector_index(conn, MODEL), HnswIndex)
    update_index(engine, CachedEmbedder())
    state = hnsw.read_state(path)
    assert state is not None and state.count == len(rows)

    vectors.forget_indexes()  # a restart: the file is mapped again, nothing re-embedded
    query = str(rows[-1]["title"])
    assert _top_ids(engine, query, 1) == _exact_ids(engine, query, 1)


def test_papers_stored_after_the_hnsw_file_are_searched_exactly(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    if not is_sqlite(engine):
        pytest.skip("the HNSW file is the SQLite backend's index")
    monkeypatch.setattr("paperfeed.search.indexer.HNSW_MIN_PAPERS", 20)
    rows = real_papers()
    store_papers(engine, rows[:50])
    update_index(engine, CachedEmbedder())
    path = hnsw.file_path(engine.url.database, MODEL)
    assert path is not None
    before = hnsw.read_state(path)
    store_papers(engine, rows[50:])
    embedder = CachedEmbedder()
    # Embed without syncing the file: the searcher must still see the new paper.
    monkeypatch.setattr("paperfeed.search.indexer.sync_vector_index", lambda *a, **k: "hnsw")
    update_index(engine, embedder)
    assert hnsw.read_state(path) == before
    target = rows[-1]
    with engine.connect() as conn:
        pk = conn.execute(select(papers.c.pk).where(papers.c.id == target["id"])).scalar()
    assert _top_ids(engine, str(target["title"]), 1) == [pk]


def test_deleted_papers_never_come_back_from_an_index(engine: Engine) -> None:
    rows = real_papers()[:30]
    store_papers(engine, rows)
    update_index(engine, CachedEmbedder())
    query = str(rows[5]["title"])
    first = _top_ids(engine, query, 1)[0]
    with write_transaction(engine) as conn:
        conn.execute(papers.delete().where(papers.c.pk == first))
    assert first not in _top_ids(engine, query, 10)


def test_exact_index_sees_new_vectors_without_a_reload(engine: Engine) -> None:
    rows = real_papers()
    store_papers(engine, rows[:20])
    update_index(engine, CachedEmbedder())
    index = ExactIndex(MODEL, 384)
    probe = CachedEmbedder().embed_query(str(rows[-1]["title"]))
    with engine.connect() as conn:
        index.search(conn, probe, 3)
    store_papers(engine, rows[20:])
    update_index(engine, CachedEmbedder())
    with engine.connect() as conn:
        hits = index.search(conn, probe, 1)
        pk = conn.execute(select(papers.c.pk).where(papers.c.id == rows[-1]["id"])).scalar()
    assert [h.pk for h in hits] == [pk]
    assert np.isclose(hits[0].score, float(probe[0] @ probe[0]), atol=0.5)
