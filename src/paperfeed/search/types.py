"""Interfaces between the search stages (each has a real and a test/CPU implementation)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np
import numpy.typing as npt
from sqlalchemy import Connection

Vectors = npt.NDArray[np.float32]


@dataclass(slots=True)
class Hit:
    """A candidate paper from one retrieval stage: the paper's integer key and its score."""

    pk: int
    score: float


class Embedder(Protocol):
    """Turns text into L2-normalised float32 vectors (one row per text)."""

    name: str  # the model's name, stored with every embedding
    dim: int

    def embed_documents(self, texts: Sequence[str]) -> Vectors: ...

    def embed_query(self, text: str) -> Vectors: ...


class VectorIndex(Protocol):
    """Nearest neighbours by inner product over the stored embeddings of one model."""

    def search(self, conn: Connection, vector: Vectors, k: int) -> list[Hit]: ...
