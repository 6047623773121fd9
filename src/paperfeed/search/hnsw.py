"""The HNSW file of the embedded (SQLite) setup: a usearch index next to the database.

The indexer builds or extends the file and replaces it atomically (write a temporary file,
then ``os.replace``), with a JSON sidecar saying which model and which version of the stored
embeddings it holds. Searchers memory-map the file read-only (fast start, one copy in the page
cache for every web worker) and search the few rows written since the file exactly, so a
search never misses a paper the indexer has not yet folded into the file.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from paperfeed.private_files import PRIVATE_FILE, private_dir
from paperfeed.search.embed import cpu_threads
from paperfeed.search.types import Vectors

# f16 keeps SciFact's ranking unchanged (BENCHMARKS.md); usearch's i8 halves memory but its
# fixed scaling suits unit vectors poorly (measured recall loss in bench/vectors.py).
DTYPE = "f16"
CONNECTIVITY = 16
EXPANSION_ADD = 64
EXPANSION_SEARCH = 96


@dataclass(slots=True, frozen=True)
class FileState:
    model: str
    dim: int
    seq: int
    count: int


def file_path(database: str | None, model: str) -> Path | None:
    """Where the file for ``model`` lives: next to the SQLite file (None: in-memory DB)."""
    if not database or database == ":memory:":
        return None
    slug = re.sub(r"[^a-z0-9]+", "-", model.lower()).strip("-")
    return Path(database).resolve().parent / f"{Path(database).stem}.vectors-{slug}.usearch"


def sidecar(path: Path) -> Path:
    return path.with_suffix(".json")


def read_state(path: Path) -> FileState | None:
    try:
        data = json.loads(sidecar(path).read_text())
    except (FileNotFoundError, ValueError):
        return None
    if not path.exists():
        return None
    return FileState(data["model"], data["dim"], data["seq"], data["count"])


def new_index(dim: int) -> Any:
    from usearch.index import Index

    return Index(
        ndim=dim,
        metric="ip",
        dtype=DTYPE,
        connectivity=CONNECTIVITY,
        expansion_add=EXPANSION_ADD,
        expansion_search=EXPANSION_SEARCH,
    )


def open_view(path: Path) -> Any:
    """The file memory-mapped read-only."""
    from usearch.index import Index

    return Index.restore(str(path), view=True)


def open_for_update(path: Path, dim: int) -> Any:
    """The file loaded into memory to extend it, or a new index when there is none."""
    from usearch.index import Index

    if path.exists():
        index = Index.restore(str(path))
        if index is not None and index.ndim == dim:
            return index
    return new_index(dim)


def upsert(index: Any, keys: npt.NDArray[np.int64], vectors: Vectors) -> None:
    """Add rows, replacing any older vector of the same paper."""
    if not len(keys):
        return
    ukeys = keys.astype(np.uint64)
    present = np.asarray(index.contains(ukeys), dtype=bool)
    if present.any():
        index.remove(ukeys[present])
    index.add(ukeys, np.ascontiguousarray(vectors, dtype=np.float32), threads=cpu_threads())


def save(index: Any, path: Path, state: FileState) -> None:
    """Replace the file and then its sidecar, each atomically.

    A crash between the two leaves an older sidecar, which only makes the next sync re-add
    rows it already has (``upsert`` replaces them), never skip any.
    """
    private_dir(path.parent)
    tmp = path.with_name(path.name + ".tmp")
    index.save(str(tmp))
    os.chmod(tmp, PRIVATE_FILE)  # usearch creates it by the umask; it maps papers' vectors
    os.replace(tmp, path)
    tmp_side = sidecar(path).with_name(sidecar(path).name + ".tmp")
    payload = {"model": state.model, "dim": state.dim, "seq": state.seq, "count": state.count}
    tmp_side.write_text(json.dumps(payload))
    os.replace(tmp_side, sidecar(path))


def search_view(view: Any, vector: Vectors, k: int) -> tuple[npt.NDArray[np.int64], Vectors]:
    """Keys and inner-product scores of the ``k`` nearest rows."""
    if view is None or len(view) == 0:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32)
    matches = view.search(np.ascontiguousarray(vector[0], dtype=np.float32), min(k, len(view)))
    keys = np.asarray(matches.keys, dtype=np.int64)
    # usearch's "ip" distance is 1 - dot product.
    return keys, (1.0 - np.asarray(matches.distances, dtype=np.float32))
