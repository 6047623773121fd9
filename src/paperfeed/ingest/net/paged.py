"""What the paged network sources (arXiv API, OAI-PMH, HF daily) have in common."""

from __future__ import annotations

import hashlib
import io

from paperfeed.ingest.formats import Item, ParseOptions, get_parser


def source_key(*parts: object) -> str:
    """A stable key for a network source: the same query resumes the same checkpoint."""
    return hashlib.sha256("|".join(str(p) for p in parts).encode()).hexdigest()


def parse_body(fmt: str, body: bytes, name: str, options: ParseOptions | None = None) -> list[Item]:
    """Parse one page with the format's parser; a page is small enough to hold in memory."""
    return list(get_parser(fmt)(io.BytesIO(body), name, options or ParseOptions()))


class ByteCounter:
    """Bytes fetched so far, for the progress bar (``Source.position``)."""

    def __init__(self) -> None:
        self.count = 0

    def add(self, body: bytes) -> bytes:
        self.count += len(body)
        return body
