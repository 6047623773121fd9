"""Search latency at scale with what issue 16 added: true totals, filter-only queries, author
filters, sort by newest and deeper pages, over the hybrid pipeline (query embedding included).

    PYTHONPATH=src:bench .venv/bin/python bench/search_totals.py --records 1000000

The corpus and the HNSW file are the ones ``bench/search_hybrid.py`` uses (built by
``bench/search_lexical.py`` and ``bench/vectors.py``). The script only calls ``search()``, so
the same file measures older code: run it with ``PYTHONPATH=<a worktree of the old
commit>/src:bench`` for a baseline, alternating with the current code (``--rounds`` each) on the
same warm database; compare medians as ratios (the machine is shared). With the current code it
also times totals estimated above 10,000 matches (``EngineConfig.exact_total_upto``) beside the
exact ones, in the same interleaved loop.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from paperfeed.search import engine as search_engine
from paperfeed.search.service import search
from paperfeed.store.engine import make_engine
from search_hybrid import HnswFileRetriever  # bench/ on sys.path
from search_lexical import OUT, QUERIES

# (kind, query, sort, offset)
WORKLOAD: list[tuple[str, str, str, int]] = [
    *[("words", q, "relevance", 0) for q in QUERIES],
    ("filter only", "cat:cs.CL", "relevance", 0),
    ("filter only", "cat:cs.RO year:2025", "relevance", 0),
    ("filter only", "cat:cs", "relevance", 0),
    ("author", 'author:"Yang Li"', "relevance", 0),
    ("author", 'author:"Y. Li"', "relevance", 0),
    ("author", 'attention author:"Yang Li"', "relevance", 0),
    ("newest", "landmark attention", "date", 0),
    ("newest", "gaussian splatting", "date", 0),
    ("newest", "large language models", "date", 0),
    ("newest", "diffusion transformer video generation", "date", 0),
    ("newest", "cat:cs.CL", "date", 0),
    ("page 6", "gaussian splatting", "relevance", 100),
    ("page 6", "kv cache compression", "relevance", 100),
]


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=1_000_000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--index", type=Path, default=OUT / "bench-f16.usearch")
    args = parser.parse_args()
    engine = make_engine(f"sqlite:///{OUT / f'search-{args.records}.db'}")
    retriever = HnswFileRetriever(args.index)
    configs: dict[str, Any] = {"search(), hybrid": None}
    if "exact_total_upto" in search_engine.EngineConfig.__dataclass_fields__:
        estimated = search_engine.EngineConfig(exact_total_upto=10_000)
        configs["the same, totals estimated above 10,000"] = estimated
    times: dict[str, dict[str, list[float]]] = {name: {} for name in configs}
    totals: dict[tuple[str, str], Any] = {}
    with engine.connect() as conn:
        calls: dict[str, Callable[[tuple[str, str, str, int]], Any]] = {
            name: (
                lambda w, c=config: search(
                    conn, w[1], 20, w[3], w[2], retriever=retriever, **({"config": c} if c else {})
                )
            )
            for name, config in configs.items()
        }
        for call in calls.values():
            for work in WORKLOAD:
                call(work)  # warm
        for round_ in range(args.rounds):
            for i, work in enumerate(WORKLOAD):
                names = list(calls)
                turn = (round_ + i) % len(names)
                for name in names[turn:] + names[:turn]:
                    started = time.perf_counter()
                    found = calls[name](work)
                    elapsed = (time.perf_counter() - started) * 1000
                    times[name].setdefault(work[0], []).append(elapsed)
                    totals[(name, f"{work[1]} [{work[2]}, +{work[3]}]")] = (
                        getattr(found, "total", None),
                        getattr(found, "total_estimated", False),
                    )
    print(f"load {os.getloadavg()[0]:.1f}; {args.records:,} papers; {args.rounds} rounds")
    for name, by_kind in times.items():
        every = [t for ts in by_kind.values() for t in ts]
        print(
            f"{name}: p50 {statistics.median(every):.2f} ms, p99 {percentile(every, 0.99):.2f} ms"
        )
        for kind, values in by_kind.items():
            print(
                f"    {kind:<12} p50 {statistics.median(values):8.2f} ms"
                f"   p99 {percentile(values, 0.99):8.2f} ms"
            )
    for (name, query), (total, estimated) in totals.items():
        print(f"  total {'~' if estimated else ''}{total} <- {query} ({name})")


if __name__ == "__main__":
    main()
