"""Embedding repository: what is stale, writing batches, reading vectors back.

All storage of embeddings goes through here; the vector indexes and the indexer never write
SQL of their own against ``paper_embeddings`` except the pgvector search itself.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import numpy as np
import numpy.typing as npt
from sqlalchemy import Connection, delete, func, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert

from paperfeed.store.embeddings_schema import embedding_models, paper_embeddings
from paperfeed.store.key_lists import in_keys, sql_text
from paperfeed.store.schema import papers
from paperfeed.store.vector_codec import decode_vectors, encode_vectors

Vectors = npt.NDArray[np.float32]
SCAN_CHUNK = 5000


@dataclass(slots=True, frozen=True)
class ModelState:
    model: str
    dim: int
    version: int


def text_hash(text: str) -> str:
    """Digest of an embedded text (32 hex characters)."""
    return hashlib.md5(text.encode("utf-8"), usedforsecurity=False).hexdigest()


def _is_pg(conn: Connection) -> bool:
    return conn.dialect.name == "postgresql"


def vectors_from_db(conn: Connection, values: Sequence[Any], dim: int) -> Vectors:
    if _is_pg(conn):
        if not values:
            return np.zeros((0, dim), dtype=np.float32)
        return np.asarray(values, dtype=np.float32).reshape(len(values), dim)  # halfvec: lists
    return decode_vectors(values, dim)


def model_state(conn: Connection, model: str) -> ModelState | None:
    row = conn.execute(select(embedding_models).where(embedding_models.c.model == model)).first()
    return ModelState(row.model, row.dim, row.version) if row else None


def ensure_model(conn: Connection, model: str, dim: int) -> ModelState:
    """Register ``model``; a model whose dimension changed starts over (its vectors are void)."""
    state = model_state(conn, model)
    if state is not None and state.dim == dim:
        return state
    now = datetime.now(UTC)
    if state is None:
        conn.execute(
            embedding_models.insert().values(model=model, dim=dim, version=0, updated_at=now)
        )
        return ModelState(model, dim, 0)
    conn.execute(delete(paper_embeddings).where(paper_embeddings.c.model == model))
    values = {"dim": dim, "version": state.version + 1, "updated_at": now}
    conn.execute(update(embedding_models).where(embedding_models.c.model == model).values(values))
    return ModelState(model, dim, state.version + 1)


def stale_papers(
    conn: Connection, model: str, text_of: Any, *, everything: bool = False
) -> Iterator[tuple[int, str]]:
    """(pk, text hash) of papers whose embedding for ``model`` is missing or out of date.

    Scans in primary-key chunks so memory stays flat on millions of papers.
    """
    emb = paper_embeddings
    joined = papers.outerjoin(emb, (emb.c.paper_pk == papers.c.pk) & (emb.c.model == model))
    last = 0
    while True:
        query = (
            select(papers.c.pk, papers.c.title, papers.c.abstract, emb.c.content_hash)
            .select_from(joined)
            .where(papers.c.pk > last)
            .order_by(papers.c.pk)
            .limit(SCAN_CHUNK)
        )
        rows = conn.execute(query).all()
        if not rows:
            return
        for pk, title, abstract, stored in rows:
            digest = text_hash(text_of(title, abstract))
            if everything or digest != stored:
                yield pk, digest
        last = rows[-1][0]


def paper_texts(conn: Connection, pks: Sequence[int]) -> dict[int, tuple[str, str]]:
    query = select(papers.c.pk, papers.c.title, papers.c.abstract).where(papers.c.pk.in_(pks))
    return {pk: (title, abstract) for pk, title, abstract in conn.execute(query)}


_SQLITE_UPSERT = (
    "INSERT INTO paper_embeddings (paper_pk, model, content_hash, seq, vector) "
    "VALUES (?, ?, ?, ?, ?) ON CONFLICT (paper_pk, model) DO UPDATE SET "
    "content_hash = excluded.content_hash, seq = excluded.seq, vector = excluded.vector"
)


def write_embeddings(
    conn: Connection, model: str, pks: Sequence[int], hashes: Sequence[str], vectors: Vectors
) -> int:
    """Upsert one batch and bump the model's version; returns the new version (the rows' seq)."""
    state = model_state(conn, model)
    if state is None:
        raise ValueError(f"model {model!r} is not registered (ensure_model first)")
    seq = state.version + 1
    if _is_pg(conn):
        rows = [
            {"paper_pk": pk, "model": model, "content_hash": h, "seq": seq, "vector": v}
            for pk, h, v in zip(pks, hashes, vectors, strict=True)  # halfvec formats numpy rows
        ]
        stmt = pg_insert(paper_embeddings)
        excluded = {c: stmt.excluded[c] for c in ("content_hash", "seq", "vector")}
        conn.execute(
            stmt.on_conflict_do_update(index_elements=["paper_pk", "model"], set_=excluded), rows
        )
    else:
        # Plain tuples through the driver: SQLAlchemy's executemany of dict rows was most of the
        # time of a GPU index run's writes (~1.3 s per 65,536 vectors, BENCHMARKS.md).
        blobs = encode_vectors(vectors)
        conn.exec_driver_sql(
            _SQLITE_UPSERT,
            [(int(pk), model, h, seq, b) for pk, h, b in zip(pks, hashes, blobs, strict=True)],
        )
    values = {"version": seq, "updated_at": datetime.now(UTC)}
    conn.execute(update(embedding_models).where(embedding_models.c.model == model).values(values))
    return seq


def load_vectors(
    conn: Connection, model: str, dim: int, *, since_seq: int = 0
) -> tuple[npt.NDArray[np.int64], Vectors]:
    """Paper keys and vectors of ``model`` written after ``since_seq`` (0: all)."""
    emb = paper_embeddings
    query = select(emb.c.paper_pk, emb.c.vector).where(emb.c.model == model)
    if since_seq:
        query = query.where(emb.c.seq > since_seq)
    pks, values = [], []
    for pk, value in conn.execute(query.order_by(emb.c.paper_pk)):
        pks.append(pk)
        values.append(value)
    return np.asarray(pks, dtype=np.int64), vectors_from_db(conn, values, dim)


def vectors_for(conn: Connection, model: str, dim: int, pks: Sequence[int]) -> dict[int, Vectors]:
    """The stored vector of each of ``pks`` that has one, as (dim,) arrays."""
    found: dict[int, Vectors] = {}
    emb = paper_embeddings
    for start in range(0, len(pks), 900):  # stay under SQLite's bound-parameter limit
        chunk = [int(pk) for pk in pks[start : start + 900]]
        query = select(emb.c.paper_pk, emb.c.vector).where(
            emb.c.model == model, emb.c.paper_pk.in_(chunk)
        )
        rows = conn.execute(query).all()
        vectors = vectors_from_db(conn, [row.vector for row in rows], dim)
        found.update({row.paper_pk: vectors[i] for i, row in enumerate(rows)})
    return found


def get_vector(conn: Connection, model: str, pk: int, dim: int) -> Vectors | None:
    """The stored vector of one paper as a (1, dim) array, or None."""
    query = select(paper_embeddings.c.vector).where(
        paper_embeddings.c.paper_pk == pk, paper_embeddings.c.model == model
    )
    value = conn.execute(query).scalar()
    return None if value is None else vectors_from_db(conn, [value], dim)


def count_embeddings(conn: Connection, model: str) -> int:
    query = select(func.count()).where(paper_embeddings.c.model == model)
    return int(conn.execute(query).scalar() or 0)


def existing_pks(conn: Connection, pks: Sequence[int]) -> set[int]:
    """Which of ``pks`` are still papers (an index may hold papers deleted since)."""
    if not pks:
        return set()
    among, params = in_keys(conn, "pk", pks)
    query = sql_text(f"SELECT pk FROM papers WHERE {among}")
    return set(conn.execute(query, params).scalars().all())  # all(): one fetch, not row by row


def load_keys(conn: Connection, model: str) -> npt.NDArray[np.int64]:
    """Keys of every paper with a vector for ``model``, sorted."""
    query = select(paper_embeddings.c.paper_pk).where(paper_embeddings.c.model == model)
    return np.sort(np.fromiter(conn.execute(query).scalars(), dtype=np.int64))
