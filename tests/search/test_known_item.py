"""The known-item dev set and the scoring of bench/known_item.py."""

from __future__ import annotations

import json
from collections import Counter

import pytest
from bench.known_item import QUERIES, STYLES, Paper, Query, corpus_slice, rank_of, rrf, score


def _rows() -> list[dict[str, str]]:
    return [json.loads(line) for line in QUERIES.read_text().splitlines()]


def test_dev_set_has_300_queries_in_each_of_three_styles_for_dev_and_held_papers() -> None:
    rows = _rows()
    by = Counter((r["split"], r["style"]) for r in rows)
    assert sum(n for (split, _), n in by.items() if split == "dev") >= 300
    assert all(by[("dev", style)] >= 100 and by[("held", style)] >= 20 for style in STYLES)
    dev = {r["target"] for r in rows if r["split"] == "dev"}
    held = {r["target"] for r in rows if r["split"] == "held"}
    assert dev and held and not dev & held  # a paper's queries are all dev or all held


def test_every_paper_has_one_query_of_each_style() -> None:
    styles: dict[str, list[str]] = {}
    for row in _rows():
        styles.setdefault(row["target"], []).append(row["style"])
    assert all(sorted(s) == sorted(STYLES) for s in styles.values())


def test_score_reports_mrr_and_recall_at_10_per_style() -> None:
    queries = [
        Query(0, "a", "keywords", "t0", "dev"),
        Query(1, "b", "keywords", "t1", "dev"),
        Query(2, "c", "paraphrase", "t2", "dev"),
    ]
    runs = {0: ["t0"], 1: ["x"] * 3 + ["t1"], 2: ["x"] * 10 + ["t2"]}  # ranks 1, 4, 11
    result = score(runs, queries)
    assert result["keywords"] == {"mrr@10": round((1 + 1 / 4) / 2, 4), "r@10": 1.0, "n": 2}
    assert result["paraphrase"]["mrr@10"] == 0.0 and result["paraphrase"]["r@10"] == 0.0
    assert result["all"]["r@10"] == round(2 / 3, 4)


def test_rank_of_counts_from_one_and_only_in_the_first_k() -> None:
    assert rank_of(["a", "b"], "b") == 2
    assert rank_of([str(i) for i in range(20)], "15") is None


def test_flat_rrf_prefers_a_paper_both_lists_rank_well() -> None:
    assert rrf(["a", "x"], ["b", "a"])[0] == "a"  # 1/61 + 1/62 beats 1/61 alone
    assert rrf(["a", "b"], ["b", "a"], k=60) == ["a", "b"]  # a tie keeps id order


def test_slice_keeps_every_target_and_is_the_same_each_time() -> None:
    papers = [Paper(f"p{i}", "t", "a") for i in range(100)]
    one = corpus_slice(papers, {"p3", "p97"}, 10)
    assert len(one) == 10 and {"p3", "p97"} <= {p.id for p in one}
    assert one == corpus_slice(papers, {"p3", "p97"}, 10)
    assert corpus_slice(papers, {"p3"}, 0) == papers


def test_slice_names_a_target_missing_from_the_corpus() -> None:
    with pytest.raises(SystemExit, match="p999"):
        corpus_slice([Paper("p1", "t", "a"), Paper("p2", "t", "a")], {"p999"}, 1)
