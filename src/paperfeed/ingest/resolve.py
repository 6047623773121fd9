"""Turn the SOURCE argument of `paperfeed ingest` into a Source."""

from __future__ import annotations

from datetime import date

from paperfeed.config import Settings
from paperfeed.ingest.formats import ParseOptions
from paperfeed.ingest.sources import Source, file_source


def resolve_source(
    spec: str,
    settings: Settings,
    *,
    fmt: str | None = None,
    since: date | None = None,
    options: ParseOptions | None = None,
) -> Source:
    """`arxiv:QUERY`, `oai:SET`, `hf-daily:YYYY-MM-DD`, an http(s) URL, a path, or `-`."""
    options = options or ParseOptions()
    scheme = spec.split(":", 1)[0].lower() if ":" in spec else ""
    if scheme == "arxiv":
        from paperfeed.ingest.net.arxiv_api import arxiv_query_source

        return arxiv_query_source(spec.split(":", 1)[1], settings, since=since)
    if scheme == "oai":
        from paperfeed.ingest.net.oai import oai_source

        return oai_source(spec.split(":", 1)[1], settings, since=since, fmt=fmt)
    if scheme == "hf-daily":
        from paperfeed.ingest.net.hf_daily import hf_daily_source

        return hf_daily_source(spec.split(":", 1)[1], settings)
    if scheme in ("http", "https"):
        from paperfeed.ingest.net.url import url_source

        return url_source(spec, settings, fmt=fmt, options=options)
    return file_source(spec, fmt, options)
