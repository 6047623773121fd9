"""Sample the papers of the known-item dev set, and check the queries written for them.

The queries in ``bench/data/known_item_dev.jsonl`` were written by a person reading each sampled
paper (its title and abstract, printed by ``sample``), three per paper, one in each style:

- ``paraphrase``: what the paper contributes, in words that are not the title's;
- ``keywords``: a few words as people type them into a search box;
- ``the_paper_that``: "the paper that ..." as one would ask a colleague.

One line per query: ``{"query", "style", "target", "split"}``; ``split`` is ``dev`` (tune on it)
or ``held`` (the last ``--held`` papers of the sample: never tuned on, scored to check that the
tuning did not overfit). The sample is fixed by ``--seed``, so anyone can redraw the same papers.

    python scripts/make_known_item_set.py sample --count 120 > /tmp/papers.txt
    python scripts/make_known_item_set.py check
"""

from __future__ import annotations

import argparse
import gzip
import json
import random
import sys
from collections import Counter
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
CORPUS = REPO.parent / "shared" / "data" / "arxiv-daily-2025-2026.jsonl.gz"
QUERIES = REPO / "bench" / "data" / "known_item_dev.jsonl"
STYLES = ("paraphrase", "keywords", "the_paper_that")
SEED = 20261207


def load_corpus(path: Path) -> list[dict[str, object]]:
    with gzip.open(path, "rt") as f:
        return [json.loads(line) for line in f]


def sample(
    papers: list[dict[str, object]], count: int, seed: int = SEED
) -> list[dict[str, object]]:
    """``count`` papers drawn without replacement by a seeded generator (stable order)."""
    return random.Random(seed).sample(papers, count)


def check(queries: Path, corpus_ids: set[str], held_ids: set[str]) -> Counter[tuple[str, str]]:
    """Validate the query file; returns how many queries each (split, style) has."""
    counts: Counter[tuple[str, str]] = Counter()
    for number, line in enumerate(queries.read_text().splitlines(), 1):
        row = json.loads(line)
        where = f"{queries}:{number}"
        if row["style"] not in STYLES:
            raise SystemExit(f"{where}: unknown style {row['style']!r} (one of {STYLES})")
        if row["target"] not in corpus_ids:
            raise SystemExit(f"{where}: target {row['target']!r} is not in the corpus")
        expected = "held" if row["target"] in held_ids else "dev"
        if row["split"] != expected:
            raise SystemExit(f"{where}: split {row['split']!r}, expected {expected!r}")
        if not str(row["query"]).strip():
            raise SystemExit(f"{where}: empty query")
        counts[(row["split"], row["style"])] += 1
    return counts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("action", choices=("sample", "check"))
    parser.add_argument("--count", type=int, default=120, help="papers to sample")
    parser.add_argument("--held", type=int, default=20, help="last papers kept back (held)")
    parser.add_argument("--seed", type=int, default=SEED)
    parser.add_argument("--corpus", type=Path, default=CORPUS)
    args = parser.parse_args()
    papers = load_corpus(args.corpus)
    chosen = sample(papers, args.count, args.seed)
    if args.action == "sample":
        for number, paper in enumerate(chosen, 1):
            split = "held" if number > args.count - args.held else "dev"
            print(f"## {number} {paper['id']} ({split})\nTITLE: {paper['title']}")
            print(f"ABSTRACT: {paper['abstract']}\n")
        return
    held = {str(p["id"]) for p in chosen[args.count - args.held :]}
    counts = check(QUERIES, {str(p["id"]) for p in papers}, held)
    for (split, style), n in sorted(counts.items()):
        print(f"{split:5} {style:15} {n}")
    print("total", sum(counts.values()), file=sys.stderr)


if __name__ == "__main__":
    main()
