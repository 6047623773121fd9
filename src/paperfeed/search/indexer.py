"""Keeping the dense index current, and dense retrieval for the search engine.

``update_index`` embeds only papers whose vector for the model is missing or stale (the text
hash differs), in batches that each commit, so an interrupted run resumes where it stopped;
then it brings the vector index (HNSW file or pgvector index) up to date.
"""

from __future__ import annotations

import time
from array import array
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from sqlalchemy import Connection, Engine, func, select

from paperfeed.search import hnsw
from paperfeed.search.embed import get_embedder, paper_text
from paperfeed.search.types import Embedder, Hit, Vectors
from paperfeed.search.vectors import HNSW_MIN_PAPERS, PgVectorIndex, forget_indexes, vector_index
from paperfeed.store import embeddings as store
from paperfeed.store.engine import write_transaction
from paperfeed.store.schema import papers

Progress = Callable[[int, int], None]  # (papers embedded so far, papers to embed)
CPU_BATCH = 256


@dataclass(slots=True)
class IndexReport:
    """What one ``update_index`` run did."""

    model: str
    papers: int  # papers in the store
    embedded: int  # embedded by this run
    up_to_date: int  # already current, left alone
    vector_index: str  # "exact", "hnsw" or "pgvector"
    seconds: float


def update_index(
    engine: Engine,
    embedder: Embedder,
    *,
    rebuild: bool = False,
    progress: Progress | None = None,
    batch_size: int | None = None,
) -> IndexReport:
    """Embed new and changed papers (every paper with ``rebuild``), then sync the vector index."""
    start = time.perf_counter()
    with write_transaction(engine) as conn:
        store.ensure_model(conn, embedder.name, embedder.dim)
    with engine.connect() as conn:
        todo = array("q", (pk for pk, _ in _stale(conn, embedder.name, rebuild)))
        total = int(conn.execute(select(func.count()).select_from(papers)).scalar() or 0)
    size = batch_size or int(getattr(embedder, "batch_size", CPU_BATCH))
    if progress:
        progress(0, len(todo))
    for begin in range(0, len(todo), size):
        _embed_batch(engine, embedder, todo[begin : begin + size])
        if progress:
            progress(min(begin + size, len(todo)), len(todo))
    kind = sync_vector_index(engine, embedder.name, rebuild=rebuild)
    took = time.perf_counter() - start
    return IndexReport(embedder.name, total, len(todo), total - len(todo), kind, took)


def _stale(conn: Connection, model: str, rebuild: bool) -> Iterator[tuple[int, str]]:
    return store.stale_papers(conn, model, paper_text, everything=rebuild)


def _embed_batch(engine: Engine, embedder: Embedder, pks: Sequence[int]) -> None:
    """Embed the papers' current text and commit the batch (deleted papers drop out)."""
    with engine.connect() as conn:
        texts = store.paper_texts(conn, list(pks))
    keys = [pk for pk in pks if pk in texts]
    docs = [paper_text(*texts[pk]) for pk in keys]
    if not docs:
        return
    vectors = embedder.embed_documents(docs)
    hashes = [store.text_hash(doc) for doc in docs]
    with write_transaction(engine) as conn:
        store.write_embeddings(conn, embedder.name, keys, hashes, vectors)


def sync_vector_index(engine: Engine, model: str, *, rebuild: bool = False) -> str:
    """Bring the model's vector index up to date with the stored vectors; returns its kind."""
    if engine.dialect.name == "postgresql":
        with write_transaction(engine) as conn:
            state = store.model_state(conn, model)
            if state is not None:
                PgVectorIndex(model, state.dim).ensure_index(conn)
        return "pgvector"
    path = hnsw.file_path(engine.url.database, model)
    with engine.connect() as conn:
        count = store.count_embeddings(conn, model)
    if path is None or (count < HNSW_MIN_PAPERS and hnsw.read_state(path) is None):
        return "exact"
    sync_hnsw_file(engine, model, path, rebuild=rebuild)
    return "hnsw"


def sync_hnsw_file(engine: Engine, model: str, path: Path, *, rebuild: bool = False) -> None:
    """Extend the HNSW file with rows newer than it (or build it), then replace it atomically."""
    with engine.connect() as conn, conn.begin():  # one snapshot: version and rows agree
        state = store.model_state(conn, model)
        if state is None:
            return
        old = hnsw.read_state(path)
        fits = old is not None and not rebuild and (old.model, old.dim) == (model, state.dim)
        if fits and old is not None and old.seq == state.version:
            return
        since = old.seq if fits and old is not None else 0
        index = hnsw.open_for_update(path, state.dim) if fits else hnsw.new_index(state.dim)
        keys, vectors = store.load_vectors(conn, model, state.dim, since_seq=since)
        live = store.load_keys(conn, model) if fits else None
    hnsw.upsert(index, keys, vectors)
    if live is not None:
        _drop_deleted(index, live)
    hnsw.save(index, path, hnsw.FileState(model, state.dim, state.version, len(index)))
    forget_indexes()  # searchers in this process switch from exact search to the file


def _drop_deleted(index: Any, live: np.ndarray[Any, Any]) -> None:
    """Remove papers deleted since the file was built (their rows cascaded away)."""
    keys = np.asarray(index.keys, dtype=np.int64)
    gone = np.setdiff1d(keys, live, assume_unique=True)
    if len(gone):
        index.remove(gone.astype(np.uint64))


class DenseRetriever:
    """Semantic retrieval for the search engine: embed the query, search the vector index."""

    def __init__(self, embedder: Embedder | None = None) -> None:
        self._embedder = embedder

    @property
    def embedder(self) -> Embedder:
        if self._embedder is None:
            self._embedder = get_embedder()
        return self._embedder

    def embed(self, query_text: str) -> Vectors:
        return self.embedder.embed_query(query_text)

    def search(self, conn: Connection, query_text: str, k: int) -> list[Hit]:
        """The ``k`` papers nearest to the query, best first (score: cosine similarity)."""
        return self.search_vector(conn, self.embed(query_text), k)

    def search_vector(self, conn: Connection, vector: Vectors, k: int) -> list[Hit]:
        return list(vector_index(conn, self.embedder.name).search(conn, vector, k))
