"""Fuse ranked candidate lists from several retrievers into one ranking.

Two methods, both weighted: reciprocal-rank fusion (robust when the retrievers' scores are not
comparable) and a convex combination of min-max normalised scores (uses how far apart the
scores are, which RRF throws away). Flat RRF was measured worse than dense alone on SCIDOCS
(0.217 -> 0.194), so the weights are parameters to be tuned on a dev split, never constants.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal

from paperfeed.search.types import Hit

Method = Literal["rrf", "convex"]


@dataclass(frozen=True, slots=True)
class FusionParams:
    """How to fuse: the method, each retriever's weight, and RRF's rank constant ``k``.

    The defaults were chosen on the known-item dev set (bench/data/known_item_dev.jsonl, 10,000
    papers) and the dev split of SciFact's *training* claims together (`bench/known_item.py
    --tune --scifact`): convex 0.6 lexical / 0.4 dense scored known-item MRR@10 0.877 and
    SciFact train-dev nDCG@10 0.788, the best mean of the two; the former 0.4/0.6 (0.824 on
    SciFact alone) let the weaker dense side pull exact lexical answers down (known-item MRR@10
    0.789). See BENCHMARKS.md for the grid and the test figures reported once.
    """

    method: Method = "convex"
    weights: Mapping[str, float] = field(default_factory=lambda: {"lexical": 0.6, "dense": 0.4})
    rrf_k: float = 60.0

    def weight(self, name: str) -> float:
        return float(self.weights.get(name, 1.0))


@dataclass(slots=True)
class StageScore:
    """One retriever's view of a fused candidate: its raw score and 1-based rank."""

    score: float
    rank: int


@dataclass(slots=True)
class Fused:
    """A fused candidate: its fused score and what each retriever said about it."""

    pk: int
    score: float
    stages: dict[str, StageScore]


def fuse(ranked: Mapping[str, Sequence[Hit]], params: FusionParams | None = None) -> list[Fused]:
    """Fuse ``{retriever name: hits, best first}`` into one list, best first.

    Ties are broken by the best rank any retriever gave, then by key, so the order is stable.
    """
    params = params or FusionParams()
    stages = _stage_scores(ranked)
    contribution = rrf_scores if params.method == "rrf" else convex_scores
    totals = contribution(ranked, params)
    fused = [Fused(pk, totals[pk], stages[pk]) for pk in stages]
    fused.sort(key=lambda f: (-f.score, min(s.rank for s in f.stages.values()), f.pk))
    return fused


def _stage_scores(ranked: Mapping[str, Sequence[Hit]]) -> dict[int, dict[str, StageScore]]:
    stages: dict[int, dict[str, StageScore]] = {}
    for name, hits in ranked.items():
        for rank, hit in enumerate(hits, start=1):
            stages.setdefault(hit.pk, {}).setdefault(name, StageScore(hit.score, rank))
    return stages


def rrf_scores(ranked: Mapping[str, Sequence[Hit]], params: FusionParams) -> dict[int, float]:
    """Weighted reciprocal-rank fusion: sum of ``w / (k + rank)`` over retrievers."""
    totals: dict[int, float] = {}
    for name, hits in ranked.items():
        weight, seen = params.weight(name), set()
        for rank, hit in enumerate(hits, start=1):
            if hit.pk in seen:  # a retriever that repeats a paper counts its best rank only
                continue
            seen.add(hit.pk)
            totals[hit.pk] = totals.get(hit.pk, 0.0) + weight / (params.rrf_k + rank)
    return totals


def convex_scores(ranked: Mapping[str, Sequence[Hit]], params: FusionParams) -> dict[int, float]:
    """Convex combination of min-max normalised scores; a missing candidate scores 0 there."""
    total_weight = sum(params.weight(name) for name in ranked) or 1.0
    totals: dict[int, float] = {}
    for name, hits in ranked.items():
        weight = params.weight(name) / total_weight
        for pk, value in normalise(hits).items():
            totals[pk] = totals.get(pk, 0.0) + weight * value
    return totals


def normalise(hits: Sequence[Hit]) -> dict[int, float]:
    """Min-max normalise scores (higher is better) into [0, 1]; all equal -> all 1."""
    if not hits:
        return {}
    best: dict[int, float] = {}
    for hit in hits:
        best[hit.pk] = max(best.get(hit.pk, hit.score), hit.score)
    low, high = min(best.values()), max(best.values())
    span = high - low
    return {pk: (score - low) / span if span > 0 else 1.0 for pk, score in best.items()}
