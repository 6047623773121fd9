"""Embeddings shipped with the sample corpus, so ``make run`` needs no embedding at start.

The file (``sample/embeddings-<model>.npz``, written by ``scripts/embed_sample.py``) holds
arXiv ids, the hash of each text embedded and float16 vectors. Loading stores a vector only
where the paper's current text has that hash, so an edited paper is still re-embedded by
the next ``paperfeed index``.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
from sqlalchemy import Engine, select

from paperfeed.search.embed import paper_text
from paperfeed.search.indexer import sync_vector_index
from paperfeed.store import embeddings as store
from paperfeed.store.engine import write_transaction
from paperfeed.store.schema import papers

SAMPLE_DIR = Path(__file__).resolve().parent.parent / "sample"
BATCH = 2000


def sample_path(model: str) -> Path:
    """Where the sample corpus's embeddings for ``model`` are (the file may not exist)."""
    slug = re.sub(r"[^a-z0-9]+", "-", model.lower()).strip("-")
    return SAMPLE_DIR / f"embeddings-{slug}.npz"


def save_precomputed(
    path: Path, model: str, ids: list[str], hashes: list[str], vectors: np.ndarray
) -> None:
    np.savez_compressed(
        path,
        model=np.array(model),
        ids=np.array(ids),
        hashes=np.array(hashes),
        vectors=vectors.astype(np.float16),
    )


def load_precomputed(engine: Engine, path: Path | None = None, *, model: str | None = None) -> int:
    """Store the file's vectors for papers whose text is unchanged; returns how many.

    Returns 0 when there is no file for the configured model (the next ``index`` embeds).
    """
    from paperfeed.config import get_settings

    model = model or get_settings().embedding_model
    path = path or sample_path(model)
    if not path.exists():
        return 0
    data = np.load(path)
    if str(data["model"]) != model:
        return 0
    ids, hashes = data["ids"].tolist(), data["hashes"].tolist()
    vectors = data["vectors"].astype(np.float32)
    with write_transaction(engine) as conn:
        store.ensure_model(conn, model, vectors.shape[1])
    loaded = 0
    for start in range(0, len(ids), BATCH):
        loaded += _load_batch(engine, model, ids[start : start + BATCH], hashes, vectors, start)
    sync_vector_index(engine, model)
    return loaded


def _load_batch(
    engine: Engine,
    model: str,
    ids: list[str],
    hashes: list[str],
    vectors: np.ndarray,
    start: int,
) -> int:
    query = select(papers.c.id, papers.c.pk, papers.c.title, papers.c.abstract)
    with write_transaction(engine) as conn:
        rows = {r.id: r for r in conn.execute(query.where(papers.c.id.in_(ids)))}
        keep = [
            start + i
            for i, paper_id in enumerate(ids)
            if paper_id in rows
            and store.text_hash(paper_text(rows[paper_id].title, rows[paper_id].abstract))
            == hashes[start + i]
        ]
        if keep:
            pks = [rows[ids[i - start]].pk for i in keep]
            store.write_embeddings(conn, model, pks, [hashes[i] for i in keep], vectors[keep])
    return len(keep)
