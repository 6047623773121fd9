"""Tune the fusion of lexical and dense search on a dev split of a BEIR dataset's TRAINING
queries (never the test queries), then report the test split once with the chosen parameters.

    python scripts/tune_fusion.py ../shared/data/scifact

Prints the grid (dev nDCG@10 for each setting), the best setting and its test scores. The
shipped `FusionParams` defaults are now chosen on SciFact's training claims and the known-item
dev set together: `bench/known_item.py --tune --scifact DIR` prints both for one grid.
"""

from __future__ import annotations

import argparse
import itertools
import json
from pathlib import Path

from paperfeed.search.beir import dev_split, load_beir
from paperfeed.search.eval import score_runs, scratch_index, stage_runs
from paperfeed.search.fusion import FusionParams


def grid() -> list[FusionParams]:
    options = []
    for dense, k in itertools.product((0.5, 1.0, 1.5, 2.0, 3.0, 4.0), (10.0, 30.0, 60.0)):
        options.append(FusionParams("rrf", {"lexical": 1.0, "dense": dense}, k))
    for dense in (0.3, 0.4, 0.5, 0.6, 0.7, 0.8):
        options.append(FusionParams("convex", {"lexical": 1.0 - dense, "dense": dense}))
    return options


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("dataset", type=Path)
    args = parser.parse_args()
    train = load_beir(args.dataset, "train")
    _, dev = dev_split(sorted(train.qrels))
    engine = scratch_index(args.dataset, train)
    dev_qrels = {q: train.qrels[q] for q in dev}
    runs, doc_ids = stage_runs(engine, {q: train.queries[q] for q in dev})
    results = []
    for params in grid():
        hybrid = score_runs(runs, doc_ids, dev_qrels, params)["hybrid"]
        results.append((hybrid["ndcg@10"], params))
        print(f"dev nDCG@10 {hybrid['ndcg@10']:.4f}  {params}")
    best_score, best = max(results, key=lambda r: r[0])
    print(f"\nbest on dev ({len(dev)} training queries): {best_score:.4f} {best}")
    test = load_beir(args.dataset, "test")
    test_runs, test_ids = stage_runs(engine, test.queries)
    print("test, reported once:", json.dumps(score_runs(test_runs, test_ids, test.qrels, best)))


if __name__ == "__main__":
    main()
