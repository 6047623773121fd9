"""The bundled sample corpus that `make run` loads: real papers over many listing days."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from paperfeed.ingest.formats import ParseOptions
from paperfeed.ingest.sources import Source, file_source

SAMPLE_DIR = Path(__file__).resolve().parent.parent / "sample"
# The seed page says "Mar 14" without a year; it was captured in 2025.
SEED_PAGE_DAY = date(2025, 3, 14)


def sample_sources() -> list[Source]:
    """The seed page's 58 papers, the slice of real arXiv listings, then 753 papers of
    Hugging Face Daily Papers with their real upvotes (their featured days)."""
    return [
        file_source(str(SAMPLE_DIR / "seed-page.txt"), "page", ParseOptions(SEED_PAGE_DAY)),
        file_source(str(SAMPLE_DIR / "arxiv-listings.jsonl.gz"), "jsonl", ParseOptions()),
        file_source(str(SAMPLE_DIR / "hf-daily-papers.json.gz"), "hf-daily", ParseOptions()),
    ]
