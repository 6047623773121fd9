"""URL sources: `paperfeed ingest https://...` fetches the body safely, then reads it as a file."""

from __future__ import annotations

from paperfeed.config import Settings
from paperfeed.ingest.formats import ParseOptions
from paperfeed.ingest.net.http import FetchError, fetch
from paperfeed.ingest.sources import StreamSource, bytes_source


def url_source(
    url: str, settings: Settings, fmt: str | None = None, options: ParseOptions | None = None
) -> StreamSource:
    """Fetch ``url`` (http(s) only, public addresses, size cap, timeouts) into a Source.

    The format is detected from the content when ``fmt`` is None. The whole body is held in
    memory, bounded by ``fetch_max_bytes``; its hash is part of the resume key, so a changed
    document is a new source.
    """
    response = fetch(url, settings)
    if not 200 <= response.status < 300:
        raise FetchError(url, f"HTTP {response.status}", response.status)
    return bytes_source(url, response.body, fmt, options or ParseOptions())
