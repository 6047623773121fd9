"""Build the bundled sample corpus that `make run` loads (`paperfeed ingest --sample`).

The sample is three files in src/paperfeed/sample/:

- ``seed-page.txt``: the seed page (a day of a papers site), copied byte for byte;
- ``arxiv-listings.jsonl.gz``: the most recent listing days of the real arXiv listings in
  ``../shared/data/arxiv-daily-2025-2026.jsonl.gz``, one JSON object a line with ``id``,
  ``title``, ``abstract``, ``authors``, ``categories`` and ``listed`` (the listing day);
- ``hf-daily-papers.json.gz``: all 753 papers of ``../shared/data/hf-daily-papers-sample.json``
  (Hugging Face Daily Papers, 2023-11-30 … 2024-04-05, with their real upvote counts), in the
  keyed shape the ``hf-daily`` format reads: they are the sample's featured days, so the daily
  order, trending and the digest preview rest on real signal from the first start.

Whole listing days are kept (never part of a day) so a new user sees real days of papers. The
output is deterministic: records are sorted by (day, id), keys are sorted, and the gzip header
carries no file name or time, so rebuilding from the same data gives the same bytes.

Rebuild (from the repository root):

    .venv/bin/python scripts/build_sample.py            # default: the latest 20 listing days
    .venv/bin/python scripts/build_sample.py --days 20  # fewer days, smaller file
"""

from __future__ import annotations

import argparse
import gzip
import json
import shutil
import sys
from collections.abc import Iterable, Iterator
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
SHARED = REPO.parent / "shared"
SEED_PAGE = SHARED / "seeds" / "000_62b243704e87bea1.txt"
LISTINGS = SHARED / "data" / "arxiv-daily-2025-2026.jsonl.gz"
HF_DAILY = SHARED / "data" / "hf-daily-papers-sample.json"
HF_FIELDS = ("url", "title", "authors", "abstract", "publication_date", "upvotes")
OUT_DIR = REPO / "src" / "paperfeed" / "sample"
FIELDS = ("id", "title", "abstract", "authors", "categories", "listed")
DEFAULT_DAYS = 20
# The repository must not carry a large copy of the shared data.
MAX_BYTES = 4_000_000


def read_listings(path: Path) -> Iterator[dict[str, object]]:
    with gzip.open(path, "rt", encoding="utf-8") as handle:
        for line in handle:
            if line.strip():
                yield json.loads(line)


def latest_days(records: Iterable[dict[str, object]], days: int) -> list[dict[str, object]]:
    """Every record listed on one of the ``days`` most recent listing days, by (day, id)."""
    rows = [{key: record[key] for key in FIELDS} for record in records]
    keep = set(sorted({str(row["listed"]) for row in rows})[-days:])
    chosen = [row for row in rows if row["listed"] in keep]
    return sorted(chosen, key=lambda row: (str(row["listed"]), str(row["id"])))


def write_jsonl_gz(rows: list[dict[str, object]], path: Path) -> None:
    body = "".join(json.dumps(row, ensure_ascii=False, sort_keys=True) + "\n" for row in rows)
    # mtime=0 and no file name in the header: the same rows always give the same bytes.
    with open(path, "wb") as raw, gzip.GzipFile("", "wb", 9, raw, mtime=0) as handle:
        handle.write(body.encode("utf-8"))


def hf_daily(path: Path) -> dict[str, dict[str, object]]:
    """The Hugging Face sample, keyed by arXiv id, with only the fields the format reads."""
    papers = json.loads(path.read_text(encoding="utf-8"))
    return {key: {f: papers[key][f] for f in HF_FIELDS} for key in sorted(papers)}


def write_json_gz(document: object, path: Path) -> None:
    body = json.dumps(document, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    with open(path, "wb") as raw, gzip.GzipFile("", "wb", 9, raw, mtime=0) as handle:
        handle.write(body.encode("utf-8"))


def build(days: int, out_dir: Path = OUT_DIR) -> tuple[int, int, list[str]]:
    """Write the sample files; return (papers in the listings slice, gz bytes, listing days)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(SEED_PAGE, out_dir / "seed-page.txt")
    write_json_gz(hf_daily(HF_DAILY), out_dir / "hf-daily-papers.json.gz")
    rows = latest_days(read_listings(LISTINGS), days)
    target = out_dir / "arxiv-listings.jsonl.gz"
    write_jsonl_gz(rows, target)
    return len(rows), target.stat().st_size, sorted({str(row["listed"]) for row in rows})


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--days", type=int, default=DEFAULT_DAYS, help="listing days to keep")
    args = parser.parse_args(argv)
    count, size, listed = build(args.days)
    print(f"{count} papers over {len(listed)} days ({listed[0]} … {listed[-1]}), {size:,} bytes")
    if size > MAX_BYTES:
        print(f"error: the sample is over {MAX_BYTES:,} bytes; use fewer --days", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
