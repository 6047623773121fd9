"""Vector index build time, query latency and recall: exact (numpy) vs HNSW (usearch f16/i8).

    .venv/bin/python bench/vectors.py --n 100000
    .venv/bin/python bench/vectors.py --n 1000000 --kinds exact,hnsw-f16

Vectors are made at scale from real embeddings (the sample corpus's shipped MiniLM vectors):
each is a real vector plus Gaussian noise, re-normalised, so neighbourhoods keep the shape of
real data. Queries are other noisy copies; recall@10 is measured against exact search.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "src"))

from paperfeed.search import hnsw  # noqa: E402
from paperfeed.search.precomputed import sample_path  # noqa: E402

NOISE = 0.35  # relative to a unit vector: copies of one paper stay near, never identical
K = 100  # candidates a hybrid search asks for


def make_vectors(n: int, seed: int) -> np.ndarray:
    base = np.load(sample_path("paperfeed-minilm-sci"))["vectors"].astype(np.float32)
    rng = np.random.default_rng(seed)
    out = np.empty((n, base.shape[1]), dtype=np.float32)
    for start in range(0, n, 100_000):
        rows = base[rng.integers(0, len(base), min(100_000, n - start))]
        noise = rng.normal(0, NOISE / np.sqrt(base.shape[1]), rows.shape).astype(np.float32)
        rows = rows + noise
        out[start : start + len(rows)] = rows / np.linalg.norm(rows, axis=1, keepdims=True)
    return out


def exact_top(data: np.ndarray, query: np.ndarray, k: int) -> np.ndarray:
    scores = data @ query
    best = np.argpartition(-scores, k - 1)[:k]
    return best[np.argsort(-scores[best])]


def run_exact(data: np.ndarray, queries: np.ndarray) -> list[float]:
    times = []
    for q in queries:
        start = time.perf_counter()
        exact_top(data, q, K)
        times.append((time.perf_counter() - start) * 1000)
    return times


def run_hnsw(data: np.ndarray, queries: np.ndarray, dtype: str, truth: list[np.ndarray]) -> None:
    hnsw.DTYPE = dtype
    index = hnsw.new_index(data.shape[1])
    start = time.perf_counter()
    hnsw.upsert(index, np.arange(len(data), dtype=np.int64), data)
    build = time.perf_counter() - start
    path = REPO / "bench" / "out" / f"bench-{dtype}.usearch"
    hnsw.save(index, path, hnsw.FileState("bench", data.shape[1], 1, len(index)))
    view = hnsw.open_view(path)
    times, recalls = [], []
    for q, exact in zip(queries, truth, strict=True):
        t = time.perf_counter()
        keys, _ = hnsw.search_view(view, q[None, :], K)
        times.append((time.perf_counter() - t) * 1000)
        recalls.append(len(set(keys[:10].tolist()) & set(exact[:10].tolist())) / 10)
    size = path.stat().st_size / 1e6
    print(
        f"hnsw-{dtype:4} build {build:6.1f} s ({len(data) / build:,.0f}/s, {size:.0f} MB)  "
        f"query k={K} p50 {statistics.median(times):.2f} ms p99 {np.percentile(times, 99):.2f} ms"
        f"  recall@10 {np.mean(recalls):.3f}",
        flush=True,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=int, default=100_000)
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--kinds", default="exact,hnsw-f16,hnsw-i8")
    args = parser.parse_args()
    print("$ " + " ".join(["python", *sys.argv]), f"(load {os.getloadavg()[0]:.1f})")
    (REPO / "bench" / "out").mkdir(exist_ok=True)
    data = make_vectors(args.n, seed=1)
    queries = make_vectors(args.queries, seed=2)
    truth = [exact_top(data, q, 10) for q in queries]
    for kind in args.kinds.split(","):
        if kind == "exact":
            times = run_exact(data, queries)
            print(
                f"exact      build    0.0 s (matrix in memory, {data.nbytes / 1e6:.0f} MB)  "
                f"query k={K} p50 {statistics.median(times):.2f} ms "
                f"p99 {np.percentile(times, 99):.2f} ms  recall@10 1.000",
                flush=True,
            )
        else:
            run_hnsw(data, queries, kind.split("-")[1], truth)


if __name__ == "__main__":
    main()
