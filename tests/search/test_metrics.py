import math

import pytest

from paperfeed.search.metrics import mean_scores, mrr_at, ndcg_at, recall_at


def test_perfect_ranking_scores_one() -> None:
    relevant = {"a": 1, "b": 1}
    assert ndcg_at(["a", "b", "c"], relevant) == pytest.approx(1.0)
    assert recall_at(["a", "b"], relevant) == 1.0
    assert mrr_at(["a"], relevant) == 1.0


def test_relevant_document_at_rank_two() -> None:
    relevant = {"b": 1}
    assert ndcg_at(["a", "b"], relevant) == pytest.approx(1 / math.log2(3))
    assert mrr_at(["a", "b"], relevant) == 0.5
    assert recall_at(["a"], relevant) == 0.0


def test_cutoffs_are_applied() -> None:
    ranked = [f"d{i}" for i in range(200)]
    relevant = {"d150": 1, "d5": 1}
    assert recall_at(ranked, relevant, 100) == 0.5
    assert mrr_at(ranked, relevant, 5) == 0.0


def test_mean_counts_missing_runs_as_zero() -> None:
    scores = mean_scores({"q1": ["a"]}, {"q1": {"a": 1}, "q2": {"b": 1}})
    assert scores == {"ndcg@10": 0.5, "recall@100": 0.5, "mrr@10": 0.5}
