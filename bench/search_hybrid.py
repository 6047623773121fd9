"""Hybrid search latency at scale: `search()` exactly as `paperfeed search` runs it (query parsing,
lexical + dense candidates, fusion, filters, snippets), including the query embedding.

    .venv/bin/python bench/search_lexical.py --records 1000000 --rounds 1   # builds the corpus
    .venv/bin/python bench/vectors.py --n 1000000 --kinds hnsw-f16          # builds the HNSW file
    .venv/bin/python bench/search_hybrid.py --records 1000000

The corpus is the 1M-paper SQLite store that `bench/search_lexical.py` builds from the real
abstracts. The dense side is the shipped int8 ONNX embedder for the query and the HNSW file
(usearch, f16, 1M vectors made from real embeddings with noise) that `bench/vectors.py` writes:
the same index class the SQLite backend uses above 50k papers. Its keys 0..N-1 stand for papers
1..N (embedding a million abstracts on this CPU would take days; the vectors' values do not
change the latency). Baseline in the same run: lexical-only `search()`.
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

import numpy as np
from sqlalchemy import Connection

from paperfeed.search import hnsw
from paperfeed.search.embed import get_embedder
from paperfeed.search.lexical import DocumentCounts
from paperfeed.search.service import search
from paperfeed.search.types import Hit
from paperfeed.store.engine import make_engine
from search_lexical import OUT, QUERIES, summary, timed_together  # bench/ is on sys.path when run


class HnswFileRetriever:
    """The dense stage over a prebuilt HNSW file: embed the query, take the nearest keys."""

    def __init__(self, path: Path) -> None:
        self.embedder = get_embedder()
        self.view = hnsw.open_view(path)
        self.embed_ms: list[float] = []

    def embed(self, query_text: str) -> np.ndarray:
        # Every round repeats the same queries: empty the embedder's query cache so each one is
        # really embedded, as a new user query would be.
        getattr(self.embedder, "_cache", {}).clear()
        started = time.perf_counter()
        vector = self.embedder.embed_query(query_text)
        self.embed_ms.append((time.perf_counter() - started) * 1000)
        return np.asarray(vector).reshape(1, -1)

    def search_vector(self, conn: Connection, vector: np.ndarray, k: int) -> list[Hit]:
        keys, scores = hnsw.search_view(self.view, vector, k)
        return [Hit(int(key) + 1, float(s)) for key, s in zip(keys, scores, strict=True)]

    def search(self, conn: Connection, query_text: str, k: int) -> list[Hit]:
        return self.search_vector(conn, self.embed(query_text), k)


class Sequential:
    """The same retriever seen through ``search`` alone: the query is embedded after the
    lexical stage, not beside it (how search ran before the embedding worker)."""

    def __init__(self, inner: HnswFileRetriever) -> None:
        self.inner = inner

    def search(self, conn: Connection, query_text: str, k: int) -> list[Hit]:
        return self.inner.search(conn, query_text, k)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=1_000_000)
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--index", type=Path, default=OUT / "bench-f16.usearch")
    args = parser.parse_args()
    engine = make_engine(f"sqlite:///{OUT / f'search-{args.records}.db'}")
    retriever = HnswFileRetriever(args.index)
    print(f"{len(retriever.view):,} vectors in {args.index}; {len(QUERIES)} queries")
    with engine.connect() as conn:
        times = timed_together(
            {
                "search(), lexical only": lambda q: search(conn, q),
                "baseline: hybrid, query embedded after lexical": lambda q: search(
                    conn, q, retriever=Sequential(retriever)
                ),
                "search(), hybrid incl. query embedding": lambda q: search(
                    conn, q, retriever=retriever
                ),
                "the same, common-word verdicts forgotten before each query": lambda q: (
                    DocumentCounts.forget(),
                    search(conn, q, retriever=retriever),
                ),
            },
            args.rounds,
        )
    for name, by_query in times.items():
        summary(name, by_query)
    print(f"query embedding alone: p50 {statistics.median(retriever.embed_ms):.2f} ms")
    print(f"reproduce: .venv/bin/python bench/search_hybrid.py --records {args.records}")


if __name__ == "__main__":
    main()
