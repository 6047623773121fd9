"""The calibrated floor under meaning-only hits, per embedding model: one place for it.

A dense retriever always returns its k nearest papers, however far they are: for "xyzzyqq"
the nearest abstracts are as near as 0.28 (cosine) and used to fill a page. A paper that only
the dense side found (none of the query's words) is kept only at or above its model's floor.
``scripts/calibrate_dense_floor.py`` measures the top dense score of nonsense strings and of
real keyword queries over a corpus and prints a floor between them; BENCHMARKS.md keeps the
figures. A model without a calibrated floor gets ``DEFAULT_FLOOR``.
"""

from __future__ import annotations

# model name -> floor (cosine similarity). paperfeed-minilm-sci on the bundled sample (5,661
# papers, 200 queries each): nonsense top score p50 0.274, p95 0.379, p99 0.404; three title
# words p5 0.358, p50 0.502. 0.40 keeps out all but ~1% of nonsense; real queries mostly
# share words with their papers, and those hits are kept whatever their dense score.
FLOORS: dict[str, float] = {
    "paperfeed-minilm-sci": 0.40,
}
DEFAULT_FLOOR = 0.0  # uncalibrated: keep every hit, as before


def dense_floor(model: str | None) -> float:
    """The floor for ``model``'s meaning-only hits (``DEFAULT_FLOOR`` when not calibrated)."""
    return FLOORS.get(model or "", DEFAULT_FLOOR)
