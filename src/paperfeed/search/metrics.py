"""Retrieval metrics as BEIR/TREC compute them: nDCG@k, Recall@k, MRR@k."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence


def ndcg_at(ranked: Sequence[str], relevant: Mapping[str, int], k: int = 10) -> float:
    """Normalised discounted cumulative gain of the top ``k`` (graded relevance, linear gain)."""
    dcg = sum(relevant.get(doc, 0) / math.log2(rank + 2) for rank, doc in enumerate(ranked[:k]))
    ideal = sorted((g for g in relevant.values() if g > 0), reverse=True)[:k]
    best = sum(g / math.log2(rank + 2) for rank, g in enumerate(ideal))
    return dcg / best if best > 0 else 0.0


def recall_at(ranked: Sequence[str], relevant: Mapping[str, int], k: int = 100) -> float:
    wanted = {doc for doc, g in relevant.items() if g > 0}
    if not wanted:
        return 0.0
    return len(wanted.intersection(ranked[:k])) / len(wanted)


def mrr_at(ranked: Sequence[str], relevant: Mapping[str, int], k: int = 10) -> float:
    for rank, doc in enumerate(ranked[:k]):
        if relevant.get(doc, 0) > 0:
            return 1.0 / (rank + 1)
    return 0.0


def mean_scores(
    runs: Mapping[str, Sequence[str]], qrels: Mapping[str, Mapping[str, int]]
) -> dict[str, float]:
    """Average nDCG@10, Recall@100 and MRR@10 over the judged queries (a missing run scores 0)."""
    totals = {"ndcg@10": 0.0, "recall@100": 0.0, "mrr@10": 0.0}
    for qid, relevant in qrels.items():
        ranked = runs.get(qid, ())
        totals["ndcg@10"] += ndcg_at(ranked, relevant, 10)
        totals["recall@100"] += recall_at(ranked, relevant, 100)
        totals["mrr@10"] += mrr_at(ranked, relevant, 10)
    count = max(1, len(qrels))
    return {name: round(value / count, 4) for name, value in totals.items()}
