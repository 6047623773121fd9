"""Real papers and a caching embedder for the dense-index tests.

Embedding on CPU is the slow part of these tests, so each text is embedded once per session
(by the real shipped ONNX model) and the vectors are reused by every test and backend.
"""

from __future__ import annotations

import gzip
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np
import orjson
import pytest
from sqlalchemy import Engine

from paperfeed.domain import PaperRecord
from paperfeed.search.embed import OnnxEmbedder, model_folder
from paperfeed.search.types import Vectors
from tests.conftest import ARXIV_BY_FIELD
from tests.factories import add_papers


@lru_cache(maxsize=1)
def real_papers() -> tuple[dict[str, object], ...]:
    """105 real arXiv papers of five fields (cs.CV, cs.CL, cs.RO, cs.SD, eess.AS), so "similar
    papers share a field" is a real test (scripts/make_test_fixtures.py picks them)."""
    with gzip.open(ARXIV_BY_FIELD, "rb") as lines:
        return tuple(orjson.loads(line) for line in lines)


def store_papers(engine: Engine, rows: Sequence[dict[str, object]]) -> None:
    records = [
        PaperRecord(
            id=str(row["id"]),
            title=str(row["title"]),
            abstract=str(row["abstract"]),
            authors=list(row["authors"]),  # type: ignore[call-overload]
            categories=list(row["categories"]),  # type: ignore[call-overload]
        )
        for row in rows
    ]
    add_papers(engine, *records)


@lru_cache(maxsize=1)
def onnx_embedder() -> OnnxEmbedder:
    return OnnxEmbedder(model_folder("paperfeed-minilm-sci"), name="paperfeed-minilm-sci")


_VECTORS: dict[str, Vectors] = {}


@dataclass
class CachedEmbedder:
    """The real model, remembering every text it embedded; counts what it was asked to embed."""

    name: str = "paperfeed-minilm-sci"
    dim: int = 384
    batch_size: int = 32
    fail_after: int | None = None  # raise after this many documents (a crash mid-run)
    embedded: list[str] = field(default_factory=list)

    def embed_documents(self, texts: Sequence[str]) -> Vectors:
        if self.fail_after is not None and len(self.embedded) + len(texts) > self.fail_after:
            raise RuntimeError("simulated crash")
        missing = [t for t in dict.fromkeys(texts) if t not in _VECTORS]
        if missing:
            _VECTORS.update(zip(missing, onnx_embedder().embed_documents(missing), strict=True))
        self.embedded.extend(texts)
        return np.vstack([_VECTORS[t] for t in texts]) if texts else np.zeros((0, self.dim))

    def embed_query(self, text: str) -> Vectors:
        return onnx_embedder().embed_query(text)


def use_hnsw_file_from(monkeypatch: pytest.MonkeyPatch, papers: int = 20) -> None:
    """Make the SQLite backend keep its HNSW file from ``papers`` papers on (50k in earnest)."""
    monkeypatch.setattr("paperfeed.search.vectors.HNSW_MIN_PAPERS", papers)
    monkeypatch.setattr("paperfeed.search.indexer.HNSW_MIN_PAPERS", papers)
