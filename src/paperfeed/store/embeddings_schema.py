"""Tables of the dense index: one embedding per (paper, model), and each model's state.

Vectors are float16 on both backends: raw little-endian bytes on SQLite, pgvector ``halfvec``
on PostgreSQL. float16 costs nothing measurable on SciFact (BENCHMARKS.md) and halves the
store against float32; int8 + scale would save another half but loses a little.

The PostgreSQL column is ``halfvec`` *without* a dimension, because the dimension depends on
the model (a setting) and one table holds every model. HNSW needs a fixed dimension, so each
model gets a partial expression index created by the indexer when the model is first used:
``USING hnsw ((vector::halfvec(<dim>)) halfvec_ip_ops) WHERE model = '<model>'``, named
``ix_paper_embeddings_hnsw_<slug>`` (``HNSW_INDEX_PREFIX``; ``alembic check`` must skip them).
A per-model table or column would need a migration for each model a user picks.
"""

from __future__ import annotations

from typing import Any

from pgvector.sqlalchemy import HALFVEC
from sqlalchemy import (
    Column,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Table,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator, TypeEngine

from paperfeed.store.metadata import metadata

HNSW_INDEX_PREFIX = "ix_paper_embeddings_hnsw_"


class EmbeddingVector(TypeDecorator[Any]):
    """``halfvec`` on PostgreSQL, bytes elsewhere; callers encode with ``store.embeddings``."""

    impl = LargeBinary
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        if dialect.name == "postgresql":
            return dialect.type_descriptor(HALFVEC())
        return dialect.type_descriptor(LargeBinary())


embedding_models = Table(
    "embedding_models",
    metadata,
    Column("model", String(64), primary_key=True),
    Column("dim", Integer, nullable=False),
    # Bumped by every committed batch of embeddings; a vector index that has seen version N
    # only needs the rows written after it (paper_embeddings.seq > N) to catch up.
    Column("version", Integer, nullable=False, default=0),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)

paper_embeddings = Table(
    "paper_embeddings",
    metadata,
    Column("paper_pk", ForeignKey("papers.pk", ondelete="CASCADE"), primary_key=True),
    Column("model", String(64), primary_key=True),
    # Digest of the text embedded (title + abstract), so an edited paper is re-embedded.
    Column("content_hash", String(32), nullable=False),
    Column("seq", Integer, nullable=False),
    Column("vector", EmbeddingVector(), nullable=False),
    Index("ix_paper_embeddings_model_seq", "model", "seq"),
)
