"""How vectors are stored as bytes on SQLite (numpy only, so benchmarks can use it anywhere)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

Vectors = npt.NDArray[np.float32]


def encode_vectors(vectors: Vectors, dtype: str = "float16") -> list[bytes]:
    """Rows as bytes: ``float16``/``float32`` little-endian, or ``int8`` after a float32 scale."""
    if dtype == "int8":
        scale = np.abs(vectors).max(axis=1, keepdims=True) / 127.0
        scale = np.maximum(scale, 1e-12).astype("<f4")
        codes = np.round(vectors / scale).astype(np.int8)
        return [s.tobytes() + c.tobytes() for s, c in zip(scale, codes, strict=True)]
    rows = np.ascontiguousarray(vectors, dtype="<f2" if dtype == "float16" else "<f4")
    return [row.tobytes() for row in rows]


def decode_vectors(blobs: Sequence[bytes], dim: int, dtype: str = "float16") -> Vectors:
    """The inverse of ``encode_vectors``: an (n, dim) float32 array."""
    if not blobs:
        return np.zeros((0, dim), dtype=np.float32)
    raw = b"".join(blobs)
    if dtype == "int8":
        rows = np.frombuffer(raw, dtype=np.uint8).reshape(len(blobs), 4 + dim)
        scale = rows[:, :4].copy().view("<f4")
        return (rows[:, 4:].view(np.int8).astype(np.float32) * scale).astype(np.float32)
    kind = "<f2" if dtype == "float16" else "<f4"
    return np.frombuffer(raw, dtype=kind).reshape(len(blobs), dim).astype(np.float32)
