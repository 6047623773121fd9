"""`hf-daily:YYYY-MM-DD` sources: the papers Hugging Face featured on one day.

GET ``{hf_api_url}/api/daily_papers?date=YYYY-MM-DD&limit=100&p=N`` through the safe fetcher,
parsed by the `hf-daily` format. A page shorter than the limit (or empty, or the same as the
previous one, should the server ignore ``p``) ends the listing.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from datetime import date
from urllib.parse import urlencode

import orjson

from paperfeed.config import Settings
from paperfeed.ingest.formats import IngestError, Item, ParseOptions
from paperfeed.ingest.formats.fields import loads_json
from paperfeed.ingest.net.http import FetchError, fetch
from paperfeed.ingest.net.paged import ByteCounter, parse_body, source_key
from paperfeed.ingest.sources import PageMark

PAGE_LIMIT = 100  # the most the Hugging Face API returns per page
MAX_PAGES = 50


class HfDailySource:
    """A Source over one day of Hugging Face daily papers."""

    def __init__(self, day: date, settings: Settings) -> None:
        self.day, self.settings = day, settings
        self.label = f"hf-daily:{day.isoformat()}"
        self.key = source_key("hf-daily", day, settings.hf_api_url)
        self.size: int | None = None
        self._bytes = ByteCounter()

    def position(self) -> int:
        return self._bytes.count

    def items(self, cursor: str | None) -> Iterator[Item | PageMark]:
        page = int(cursor) if cursor and cursor.isdigit() else 0
        previous = b""
        while page < MAX_PAGES:
            body = self._fetch(page)
            digest = hashlib.sha256(body).digest()
            count = _count(body, self.label)
            if count == 0 or digest == previous:
                return
            options = ParseOptions(featured_day=self.day)
            yield from parse_body("hf-daily", body, f"{self.label} (page {page})", options)
            page, previous = page + 1, digest
            yield PageMark(str(page))
            if count < PAGE_LIMIT:
                return

    def _fetch(self, page: int) -> bytes:
        query = urlencode({"date": self.day.isoformat(), "limit": PAGE_LIMIT, "p": page})
        url = f"{self.settings.hf_api_url.rstrip('/')}/api/daily_papers?{query}"
        response = fetch(url, self.settings, headers={"Accept": "application/json"})
        if response.status != 200:
            raise FetchError(url, f"Hugging Face answered HTTP {response.status}", response.status)
        return self._bytes.add(response.body)


def _count(body: bytes, label: str) -> int:
    """How many items the page holds (the parser reports what is wrong inside them)."""
    try:
        data = loads_json(body)
    except orjson.JSONDecodeError as error:
        raise IngestError(f"{label}: the answer is not JSON: {error}") from None
    if not isinstance(data, list):
        raise IngestError(f"{label}: expected a JSON list of daily papers")
    return len(data)


def hf_daily_source(day: str, settings: Settings) -> HfDailySource:
    """The Source for `paperfeed ingest hf-daily:YYYY-MM-DD`."""
    try:
        parsed = date.fromisoformat(day.strip())
    except ValueError:
        raise IngestError(f"hf-daily:{day}: give a day as YYYY-MM-DD") from None
    return HfDailySource(parsed, settings)
