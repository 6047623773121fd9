"""Keeping the dense index current, and dense retrieval for the search engine.

``update_index`` embeds only papers whose vector for the model is missing or stale (the text
hash differs), in batches that each commit, so an interrupted run resumes where it stopped;
then it brings the vector index (HNSW file or pgvector index) up to date.

The embedder is kept busy: a database thread fetches the next batch's texts while the current
batch embeds, and commits each batch's vectors, in order, while the next ones embed (sqlite3
and psycopg release the GIL while the database works). An embedder with
``embed_batches`` (the GPU one) gets the batches as one stream, so its pipeline stays full
across batches; others get ``embed_documents`` once a batch.
"""

from __future__ import annotations

import time
from array import array
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from sqlalchemy import Connection, Engine, func, select
from sqlalchemy.exc import IntegrityError

from paperfeed.search import hnsw
from paperfeed.search.coverage import embedded_share
from paperfeed.search.embed import paper_text
from paperfeed.search.embedders import get_embedder
from paperfeed.search.types import Embedder, Hit, Vectors
from paperfeed.search.vectors import HNSW_MIN_PAPERS, PgVectorIndex, forget_indexes, vector_index
from paperfeed.store import embeddings as store
from paperfeed.store.engine import write_transaction
from paperfeed.store.schema import papers

Progress = Callable[[int, int], None]  # (papers embedded so far, papers to embed)
CPU_BATCH = 256
READ_AHEAD = 1  # batches whose texts are read while one embeds
WRITE_BEHIND = 2  # embedded batches waiting for the writer before the embedder waits
IN_LIMIT = 16_384  # primary keys per IN (...) query: under every SQLite's variable limit


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
    _embed_stale(
        engine, embedder, [todo[i : i + size] for i in range(0, len(todo), size)], progress
    )
    kind = sync_vector_index(engine, embedder.name, rebuild=rebuild)
    took = time.perf_counter() - start
    return IndexReport(embedder.name, total, len(todo), total - len(todo), kind, took)


def embed_papers(engine: Engine, embedder: Embedder, pks: Sequence[int]) -> int:
    """Embed these papers now, e.g. one just submitted on the site, so that similar papers,
    semantic search and "for you" find it at once. Its vector is served from the vector
    index's newer rows until the next ``update_index`` folds it in. Returns how many."""
    with write_transaction(engine) as conn:
        store.ensure_model(conn, embedder.name, embedder.dim)
    batch = _read_batch(engine, pks)
    if batch.keys:
        _write_batch(engine, embedder.name, batch, _embed(embedder, batch.docs))
    return len(batch.keys)


def _stale(conn: Connection, model: str, rebuild: bool) -> Iterator[tuple[int, str]]:
    return store.stale_papers(conn, model, paper_text, everything=rebuild)


@dataclass(slots=True)
class _Batch:
    pks: Sequence[int]  # asked for
    keys: list[int]  # those still in the store
    docs: list[str]
    hashes: list[str]


def _read_batch(engine: Engine, pks: Sequence[int]) -> _Batch:
    """The papers' current texts (deleted papers drop out)."""
    texts: dict[int, tuple[str, str]] = {}
    with engine.connect() as conn:
        for i in range(0, len(pks), IN_LIMIT):
            texts.update(store.paper_texts(conn, list(pks[i : i + IN_LIMIT])))
    keys = [pk for pk in pks if pk in texts]
    docs = [paper_text(*texts[pk]) for pk in keys]
    return _Batch(pks, keys, docs, [store.text_hash(doc) for doc in docs])


def _write_batch(engine: Engine, model: str, batch: _Batch, vectors: Vectors) -> None:
    """Commit one batch's vectors; papers deleted since they were read drop out."""
    if not batch.keys:
        return
    try:
        with write_transaction(engine) as conn:
            store.write_embeddings(conn, model, batch.keys, batch.hashes, vectors)
    except IntegrityError:  # a paper went (its foreign key): write the others
        with write_transaction(engine) as conn:
            live = store.existing_pks(conn, batch.keys)
            keep = [i for i, pk in enumerate(batch.keys) if pk in live]
            keys, hashes = [batch.keys[i] for i in keep], [batch.hashes[i] for i in keep]
            if keys:
                store.write_embeddings(conn, model, keys, hashes, np.asarray(vectors)[keep])


def _concurrent(engine: Engine) -> bool:
    """Whether other threads may use their own connections (not so for in-memory SQLite)."""
    return engine.dialect.name != "sqlite" or engine.url.database not in (None, "", ":memory:")


def _embed_stale(
    engine: Engine, embedder: Embedder, batches: Sequence[Sequence[int]], progress: Progress | None
) -> None:
    """Embed the batches and commit each one on its own, in order. One database thread reads
    texts ahead and writes vectors behind (one queue: reads and writes never contend with each
    other for the GIL); if embedding fails, the batches embedded before it are committed, then
    the error is raised."""
    model, total, done = embedder.name, sum(len(b) for b in batches), 0
    handed: deque[_Batch] = deque()  # handed to the embedder, vectors not back yet
    reads: deque[Future[_Batch]] = deque()
    writes: deque[Future[None]] = deque()
    todo = iter(batches)
    with ThreadPoolExecutor(1, thread_name_prefix="paperfeed-index-db") as db:
        threads = _concurrent(engine)

        def read_next() -> None:
            pks = next(todo, None)
            if pks is not None:
                reads.append(db.submit(_read_batch, engine, pks))

        def texts() -> Iterator[list[str]]:
            for _ in range(READ_AHEAD + 1 if threads else 0):
                read_next()
            while reads or not threads:
                if threads:
                    batch = reads.popleft().result()
                    read_next()
                else:
                    pks = next(todo, None)
                    if pks is None:
                        return
                    batch = _read_batch(engine, pks)
                handed.append(batch)
                yield batch.docs

        stream = getattr(embedder, "embed_batches", None)
        vectors_of: Iterator[Vectors] = iter(())
        try:
            if stream is not None:
                vectors_of = stream(texts())
            else:
                vectors_of = (_embed(embedder, docs) for docs in texts())
            for vectors in vectors_of:
                batch = handed.popleft()
                if threads:
                    writes.append(db.submit(_write_batch, engine, model, batch, vectors))
                    while writes and (writes[0].done() or len(writes) > WRITE_BEHIND):
                        writes.popleft().result()  # in order; raises a failed write
                else:
                    _write_batch(engine, model, batch, vectors)
                done += len(batch.pks)
                if progress:
                    progress(done, total)
        finally:  # stop embedding and reading, then commit what was embedded
            close = getattr(vectors_of, "close", None)
            if close is not None:
                close()
            for future in reads:
                future.cancel()
            while writes:
                writes.popleft().result()


def _embed(embedder: Embedder, docs: list[str]) -> Vectors:
    if not docs:
        return np.zeros((0, embedder.dim), dtype=np.float32)
    return embedder.embed_documents(docs)


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

    def look_ahead(self, conn: Connection, query_text: str, k: int) -> Callable[[], object]:
        """What needs no connection, for the engine to run beside the lexical stage: embed the
        query and, where the index is an HNSW file, search it."""
        index = vector_index(conn, self.embedder.name)

        def work() -> object:
            vector = self.embed(query_text)
            return _Ahead(vector, index, index.look_ahead(vector, k))

        return work

    def coverage(self, conn: Connection) -> float:
        """The share of papers this retriever can find (those with a vector)."""
        return embedded_share(conn, self.embedder.name)

    def search_ahead(self, conn: Connection, ahead: object, k: int) -> list[Hit]:
        """Finish what ``look_ahead``'s work began: the store's checks, newer rows, the best k."""
        assert isinstance(ahead, _Ahead)
        return list(ahead.index.search(conn, ahead.vector, k, ahead.found))


@dataclass(frozen=True, slots=True)
class _Ahead:
    vector: Vectors
    index: Any
    found: object
