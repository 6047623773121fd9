"""Vector indexes over the stored embeddings, and "similar papers".

Three implementations of ``VectorIndex``, picked per backend and size:

- ``ExactIndex``: a float32 matrix cached in the process, one matmul per query (exact; fine
  below ~50k papers, where a query costs a few milliseconds);
- ``HnswIndex``: the usearch file next to the SQLite database (``search.hnsw``) plus an exact
  search over rows stored since the file was written;
- ``PgVectorIndex``: pgvector HNSW in PostgreSQL.

Each keeps itself current by comparing the model's version in ``embedding_models`` (one
primary-key read per query) with the version it has seen, and loading only newer rows.
"""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
from sqlalchemy import Connection, Engine, select, text

from paperfeed.config import get_settings
from paperfeed.search import hnsw
from paperfeed.search.types import Hit, Vectors
from paperfeed.store import embeddings as store
from paperfeed.store.schema import papers

HNSW_MIN_PAPERS = 50_000
_SAFE_MODEL = re.compile(r"^[A-Za-z0-9._/:-]{1,64}$")


class _Rows:
    """A growable matrix of vectors keyed by paper pk, updated in place by newer rows."""

    def __init__(self, dim: int) -> None:
        self.pks = np.zeros(0, dtype=np.int64)
        self.vecs = np.zeros((0, dim), dtype=np.float32)
        self.pos: dict[int, int] = {}

    def apply(self, pks: npt.NDArray[np.int64], vecs: Vectors) -> None:
        fresh = [i for i, pk in enumerate(pks.tolist()) if pk not in self.pos]
        for i, pk in enumerate(pks.tolist()):
            if pk in self.pos:
                self.vecs[self.pos[pk]] = vecs[i]
        if fresh:
            start = len(self.pks)
            self.pks = np.concatenate([self.pks, pks[fresh]])
            self.vecs = np.vstack([self.vecs, vecs[fresh]])
            self.pos.update({int(pk): start + j for j, pk in enumerate(pks[fresh].tolist())})

    def top(self, vector: Vectors, k: int) -> tuple[npt.NDArray[np.int64], Vectors]:
        if not len(self.pks):
            return self.pks, np.zeros(0, dtype=np.float32)
        scores = self.vecs @ vector[0]
        k = min(k, len(scores))
        best = np.argpartition(-scores, k - 1)[:k]
        best = best[np.argsort(-scores[best], kind="stable")]
        return self.pks[best], scores[best]


def _hits(conn: Connection, keys: npt.NDArray[np.int64], scores: Vectors, k: int) -> list[Hit]:
    """Best first, dropping papers deleted since their vectors were indexed."""
    alive = store.existing_pks(conn, keys.tolist())
    hits = [Hit(int(pk), float(s)) for pk, s in zip(keys, scores, strict=True) if pk in alive]
    hits.sort(key=lambda h: -h.score)
    return hits[:k]


class ExactIndex:
    """Exact inner-product search over all of a model's vectors, cached in memory."""

    def __init__(self, model: str, dim: int) -> None:
        self.model, self.dim = model, dim
        self.rows = _Rows(dim)
        self.seen = 0
        self._lock = threading.Lock()

    def refresh(self, conn: Connection) -> None:
        state = store.model_state(conn, self.model)
        if state is None or state.version == self.seen:
            return
        with self._lock:
            if state.dim != self.dim:  # the model was re-registered with another shape
                self.dim, self.rows, self.seen = state.dim, _Rows(state.dim), 0
            pks, vecs = store.load_vectors(conn, self.model, self.dim, since_seq=self.seen)
            self.rows.apply(pks, vecs)
            self.seen = state.version

    def look_ahead(self, vector: Vectors, k: int) -> None:
        return None  # nothing to do without the connection (the rows may need a refresh)

    def search(self, conn: Connection, vector: Vectors, k: int, ahead: object = None) -> list[Hit]:
        self.refresh(conn)
        keys, scores = self.rows.top(vector, k + 8)
        return _hits(conn, keys, scores, k)


@dataclass(frozen=True, slots=True)
class FileHits:
    """What an HNSW file gave for a query vector, before the store's checks."""

    keys: npt.NDArray[np.int64]
    scores: Vectors


class HnswIndex:
    """The memory-mapped HNSW file plus exact search over rows written since it was saved."""

    def __init__(self, path: Any, model: str, dim: int) -> None:
        self.path, self.model, self.dim = path, model, dim
        self.view: Any = None
        self.file: hnsw.FileState | None = None
        self.delta = ExactIndex(model, dim)
        self._stamp: float = -1.0
        self._lock = threading.Lock()

    def _reopen(self) -> None:
        """Map the file again when the indexer has replaced it."""
        try:
            stamp = hnsw.sidecar(self.path).stat().st_mtime
        except FileNotFoundError:
            return
        if stamp == self._stamp:
            return
        with self._lock:
            state = hnsw.read_state(self.path)
            if state is None or state.model != self.model or state.dim != self.dim:
                return
            self.view, self.file, self._stamp = hnsw.open_view(self.path), state, stamp
            self.delta = ExactIndex(self.model, self.dim)
            self.delta.seen = state.seq  # the delta holds only rows newer than the file

    def look_ahead(self, vector: Vectors, k: int) -> FileHits:
        """The file's nearest rows: needs no connection, so it can run beside the lexical stage
        (``search`` then takes them as ``ahead``)."""
        self._reopen()
        keys, scores = hnsw.search_view(self.view, vector, k + 8)
        return FileHits(keys, scores)

    def search(self, conn: Connection, vector: Vectors, k: int, ahead: object = None) -> list[Hit]:
        found = ahead if isinstance(ahead, FileHits) else self.look_ahead(vector, k)
        keys, scores = found.keys, found.scores
        self.delta.refresh(conn)
        newer = self.delta.rows.pos  # re-embedded papers: the file's vector is outdated
        keep = np.asarray([int(key) not in newer for key in keys], dtype=bool)
        dkeys, dscores = self.delta.rows.top(vector, k + 8)
        both_keys = np.concatenate([keys[keep] if len(keys) else keys, dkeys])
        both_scores = np.concatenate([scores[keep] if len(keys) else scores, dscores])
        return _hits(conn, both_keys, both_scores, k)


def _literal(model: str) -> str:
    """The model name as an SQL literal (it is part of the partial index's predicate)."""
    if not _SAFE_MODEL.match(model):
        raise ValueError(f"unsupported characters in model name {model!r}")
    return "'" + model + "'"


def pg_index_name(model: str) -> str:
    from paperfeed.store.embeddings_schema import HNSW_INDEX_PREFIX

    slug = re.sub(r"[^a-z0-9]+", "_", model.lower()).strip("_")
    return (HNSW_INDEX_PREFIX + slug)[:63]


class PgVectorIndex:
    """pgvector HNSW over ``vector::halfvec(dim)`` (the expression its partial index uses)."""

    def __init__(self, model: str, dim: int) -> None:
        self.model, self.dim = model, dim
        self.expr = f"(vector::halfvec({int(dim)}))"

    def ensure_index(self, conn: Connection) -> None:
        """Create this model's HNSW index once (built after a bulk load, it builds fastest)."""
        conn.execute(text("SET LOCAL maintenance_work_mem = '512MB'"))
        conn.execute(
            text(
                f"CREATE INDEX IF NOT EXISTS {pg_index_name(self.model)} ON paper_embeddings "
                f"USING hnsw ({self.expr} halfvec_ip_ops) WITH (m = 16, ef_construction = 64) "
                f"WHERE model = {_literal(self.model)}"
            )
        )

    def look_ahead(self, vector: Vectors, k: int) -> None:
        return None  # the index is in the database

    def search(self, conn: Connection, vector: Vectors, k: int, ahead: object = None) -> list[Hit]:
        # ef_search bounds how many results HNSW can return: at least k.
        conn.execute(
            text("SELECT set_config('hnsw.ef_search', :ef, true)"), {"ef": str(max(k, 64))}
        )
        query = text(
            f"SELECT paper_pk, {self.expr} <#> CAST(:q AS halfvec({int(self.dim)})) AS d "
            f"FROM paper_embeddings WHERE model = {_literal(self.model)} ORDER BY d LIMIT :k"
        )
        literal = "[" + ",".join(f"{x:.6g}" for x in vector[0].tolist()) + "]"
        rows = conn.execute(query, {"q": literal, "k": k}).all()
        return [Hit(int(pk), -float(d)) for pk, d in rows]  # <#> is the negative dot product


class _Empty:
    """The index of a model with no stored embeddings yet."""

    def look_ahead(self, vector: Vectors, k: int) -> None:
        return None

    def search(self, conn: Connection, vector: Vectors, k: int, ahead: object = None) -> list[Hit]:
        return []


_indexes: dict[tuple[str, str, int], Any] = {}
_indexes_lock = threading.Lock()


def vector_index(conn: Connection, model: str) -> Any:
    """The index to search ``model`` with on this connection's database (cached per process)."""
    state = store.model_state(conn, model)
    if state is None:
        return _Empty()
    url = conn.engine.url.render_as_string(hide_password=True)
    key = (url, model, state.dim)
    with _indexes_lock:
        if key not in _indexes:
            _indexes[key] = _make(conn.engine, model, state.dim)
        return _indexes[key]


def _make(engine: Engine, model: str, dim: int) -> Any:
    if engine.dialect.name == "postgresql":
        return PgVectorIndex(model, dim)
    path = hnsw.file_path(engine.url.database, model)
    if path is not None and hnsw.read_state(path) is not None:
        return HnswIndex(path, model, dim)
    return ExactIndex(model, dim)


def forget_indexes() -> None:
    """Drop cached indexes (after an index file appears, or in tests)."""
    with _indexes_lock:
        _indexes.clear()


def similar(conn: Connection, paper_id: str, k: int = 10, *, model: str | None = None) -> list[Hit]:
    """Nearest neighbours of a stored paper by its stored vector (no embedding at query time).

    Empty when the paper is unknown or not embedded yet for ``model`` (default: the setting).
    """
    model = model or get_settings().embedding_model
    pk = conn.execute(select(papers.c.pk).where(papers.c.id == paper_id)).scalar()
    state = store.model_state(conn, model)
    if pk is None or state is None:
        return []
    vector = store.get_vector(conn, model, int(pk), state.dim)
    if vector is None:
        return []
    hits = vector_index(conn, model).search(conn, vector, k + 1)
    return [hit for hit in hits if hit.pk != pk][:k]
