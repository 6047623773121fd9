"""Measure where the dense floor (search.dense_floor) should lie for the configured model.

For nonsense strings (random letters) and real keyword queries (three words of a random
paper's title) over the configured database, print the nearest paper's dense score: the floor
goes above what nonsense reaches and below what most real queries reach.

    PYTHONPATH=src python scripts/calibrate_dense_floor.py [--queries 200]
"""

from __future__ import annotations

import argparse
import random
import string

import numpy as np
from sqlalchemy import text

from paperfeed.config import get_settings
from paperfeed.search.indexer import DenseRetriever
from paperfeed.search.query import is_stopword, words
from paperfeed.store.engine import make_engine


def nonsense(rng: random.Random) -> str:
    return "".join(rng.choice(string.ascii_lowercase) for _ in range(rng.randint(5, 10)))


def keyword_query(rng: random.Random, title: str) -> str:
    kept = [w for w in words(title) if not is_stopword(w) and len(w) > 2]
    return " ".join(rng.sample(kept, min(3, len(kept))))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--queries", type=int, default=200)
    args = parser.parse_args()
    rng = random.Random(16)
    engine = make_engine(get_settings().database_url)
    retriever = DenseRetriever()
    with engine.connect() as conn:
        titles = list(conn.execute(text("SELECT title FROM papers")).scalars())
        real = [keyword_query(rng, rng.choice(titles)) for _ in range(args.queries)]
        junk = [nonsense(rng) for _ in range(args.queries)]
        for name, queries in (("nonsense", junk), ("real", real)):
            top = np.array([retriever.search(conn, q, 1)[0].score for q in queries if q])
            cuts = np.percentile(top, [1, 5, 50, 95, 99]).round(3).tolist()
            print(f"{retriever.embedder.name} {name}: n={len(top)} p1/p5/p50/p95/p99={cuts}")


if __name__ == "__main__":
    main()
