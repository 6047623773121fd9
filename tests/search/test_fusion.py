import dataclasses

import pytest

from paperfeed.search.fusion import FusionParams, fuse, normalise
from paperfeed.search.types import Hit

LEX = [Hit(1, 9.0), Hit(2, 5.0), Hit(3, 1.0)]
DENSE = [Hit(3, 0.9), Hit(4, 0.8)]


def test_rrf_sums_weighted_reciprocal_ranks() -> None:
    fused = {
        f.pk: f
        for f in fuse(
            {"lexical": LEX, "dense": DENSE},
            FusionParams("rrf", {"lexical": 1.0, "dense": 1.0}, rrf_k=10),
        )
    }
    assert fused[3].score == pytest.approx(1 / 13 + 1 / 11)
    assert fused[1].score == pytest.approx(1 / 11)
    assert fused[3].stages["lexical"].rank == 3
    assert fused[3].stages["dense"].rank == 1


def test_weights_change_the_order() -> None:
    lexical_heavy = FusionParams("rrf", {"lexical": 3.0, "dense": 1.0}, rrf_k=1)
    dense_heavy = FusionParams("rrf", {"lexical": 1.0, "dense": 3.0}, rrf_k=1)
    ranked = {"lexical": LEX, "dense": DENSE}
    assert fuse(ranked, lexical_heavy)[0].pk == 1
    assert fuse(ranked, dense_heavy)[0].pk == 3


def test_convex_combination_of_normalised_scores() -> None:
    params = FusionParams(method="convex", weights={"lexical": 0.5, "dense": 0.5})
    fused = {f.pk: f.score for f in fuse({"lexical": LEX, "dense": DENSE}, params)}
    assert fused[1] == pytest.approx(0.5)  # best lexical, absent from dense
    assert fused[3] == pytest.approx(0.5)  # worst lexical (0), best dense (1)
    assert fused[4] == pytest.approx(0.0)


def test_normalise_handles_ties_and_empty() -> None:
    assert normalise([]) == {}
    assert normalise([Hit(1, 2.0), Hit(2, 2.0)]) == {1: 1.0, 2: 1.0}


def test_params_are_frozen_data() -> None:
    params = FusionParams()
    with pytest.raises(dataclasses.FrozenInstanceError):
        params.rrf_k = 1  # type: ignore[misc]
    assert dataclasses.replace(params, rrf_k=20).rrf_k == 20
