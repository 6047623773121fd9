"""Derive the small data files the tests read (tests/data/) from the shared data beside the clone.

Tests never read ``../shared``: a clone of the repository alone must pass ``make test``. This
script is the only bridge. It writes, deterministically (same data in, same bytes out):

- ``tests/data/arxiv/listings.jsonl.gz``: the first 2,000 records of the real arXiv listings
  (``arxiv-daily-2025-2026.jsonl.gz``), lines copied byte for byte, in file order;
- ``tests/data/arxiv/by-field.jsonl.gz``: 105 real papers from five fields, the first of each
  primary category in ``BY_FIELD`` (the dense-index tests check "similar papers share a field");
- ``tests/data/arxiv/same-title.jsonl``: two real, different papers that carry one title;
- ``tests/data/hf-daily-papers-sample.json``: the first 100 papers of the Hugging Face Daily
  Papers sample, with their real upvote counts, in the sample's own layout.

The seed page the tests read is the one bundled with the package
(``src/paperfeed/sample/seed-page.txt``, see scripts/build_sample.py); this script only checks
that it is still the shared seed, byte for byte. SciFact is read by no test, only by scripts.

Rebuild (from the repository root), then `python tests/data/recorded/make_recorded.py`, which
reads these files:

    .venv/bin/python scripts/make_test_fixtures.py
"""

from __future__ import annotations

import gzip
import itertools
import json
import sys
from collections.abc import Iterable
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
SHARED = REPO.parent / "shared"
LISTINGS = SHARED / "data" / "arxiv-daily-2025-2026.jsonl.gz"
HF_DAILY = SHARED / "data" / "hf-daily-papers-sample.json"
SEED_PAGE = SHARED / "seeds" / "000_62b243704e87bea1.txt"
BUNDLED_SEED_PAGE = REPO / "src" / "paperfeed" / "sample" / "seed-page.txt"
OUT = REPO / "tests" / "data"

LISTED_ROWS = 2_000
BY_FIELD = {"cs.CV": 30, "cs.CL": 30, "cs.RO": 25, "cs.SD": 10, "eess.AS": 10}
SAME_TITLE_IDS = ("2505.17997", "2506.03038")
HF_PAPERS = 100
# Fixtures are committed: keep them small (the README of the shared data asks for it too).
MAX_BYTES = 2_000_000


def write_gz(lines: Iterable[bytes], path: Path) -> None:
    # mtime=0 and no file name in the header: the same lines always give the same bytes.
    with open(path, "wb") as raw, gzip.GzipFile("", "wb", 9, raw, mtime=0) as handle:
        for line in lines:
            handle.write(line)


def listing_lines() -> list[bytes]:
    with gzip.open(LISTINGS, "rb") as lines:
        return [line for line in lines if line.strip()]


def by_field(lines: list[bytes]) -> list[bytes]:
    """The first papers of each primary category in BY_FIELD, as many as it asks, file order."""
    left, picked = dict(BY_FIELD), []
    for line in lines:
        primary = json.loads(line)["categories"][0]
        if left.get(primary, 0) > 0:
            left[primary] -= 1
            picked.append(line)
    assert not any(left.values()), f"the listings lack papers of {left}"
    return picked


def same_title(lines: list[bytes]) -> list[bytes]:
    found = {}
    for line in lines:
        row = json.loads(line)
        if row["id"] in SAME_TITLE_IDS:
            found[row["id"]] = (line, row["title"])
    assert len({title for _, title in found.values()}) == 1, "the papers no longer share a title"
    return [found[paper_id][0] for paper_id in SAME_TITLE_IDS]


def hf_sample() -> str:
    sample = json.loads(HF_DAILY.read_text(encoding="utf-8"))
    subset = dict(itertools.islice(sample.items(), HF_PAPERS))
    return json.dumps(subset, indent=4)  # the shared file's own layout


def main() -> int:
    if BUNDLED_SEED_PAGE.read_bytes() != SEED_PAGE.read_bytes():
        print(f"error: {BUNDLED_SEED_PAGE} differs from the seed page", file=sys.stderr)
        return 1
    (OUT / "arxiv").mkdir(parents=True, exist_ok=True)
    lines = listing_lines()
    write_gz(lines[:LISTED_ROWS], OUT / "arxiv" / "listings.jsonl.gz")
    write_gz(by_field(lines), OUT / "arxiv" / "by-field.jsonl.gz")
    (OUT / "arxiv" / "same-title.jsonl").write_bytes(b"".join(same_title(lines)))
    (OUT / "hf-daily-papers-sample.json").write_text(hf_sample(), encoding="utf-8")
    written = [*(OUT / "arxiv").iterdir(), OUT / "hf-daily-papers-sample.json"]
    total = sum(path.stat().st_size for path in written)
    for path in sorted(written):
        print(f"{path.relative_to(REPO)}: {path.stat().st_size:,} bytes")
    if total > MAX_BYTES:
        print(f"error: the fixtures take {total:,} bytes, over {MAX_BYTES:,}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
