"""Turn the SOURCE argument of `paperfeed ingest` into a Source."""

from __future__ import annotations

import re
from datetime import date

from paperfeed.config import Settings
from paperfeed.ingest.formats import IngestError, ParseOptions
from paperfeed.ingest.ids import InvalidPaperId, parse_arxiv_id
from paperfeed.ingest.sources import Source, file_source

# `ftp://...`, `file:///...`: a URL of a scheme we do not fetch (a path may hold a colon).
_OTHER_URL_RE = re.compile(r"[A-Za-z][A-Za-z0-9+.-]+://")


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

        query = spec.split(":", 1)[1]
        _check_arxiv_ids(query)
        return arxiv_query_source(query, settings, since=since)
    if scheme == "oai":
        from paperfeed.ingest.net.oai import oai_source

        return oai_source(spec.split(":", 1)[1], settings, since=since, fmt=fmt)
    if scheme == "hf-daily":
        from paperfeed.ingest.net.hf_daily import hf_daily_source

        return hf_daily_source(spec.split(":", 1)[1], settings)
    if scheme in ("http", "https"):
        from paperfeed.ingest.net.url import url_source

        return url_source(spec, settings, fmt=fmt, options=options)
    if _OTHER_URL_RE.match(spec):
        raise IngestError(_unfetched_url(spec, scheme))
    return file_source(spec, fmt, options)


def _check_arxiv_ids(query: str) -> None:
    """Refuse `arxiv:id:` lists with a malformed id before asking arXiv about them."""
    if not query.strip().lower().startswith("id:"):
        return
    ids = [raw.strip() for raw in query.strip()[3:].split(",") if raw.strip()]
    if not ids:
        raise IngestError("arxiv:id: give one or more arXiv ids, e.g. arxiv:id:2401.12345")
    for raw in ids:
        try:
            parse_arxiv_id(raw)
        except InvalidPaperId:
            raise IngestError(
                f"arxiv:id: {raw!r} is not an arXiv id (e.g. 2401.12345 or cs/0601001)"
            ) from None


def _unfetched_url(spec: str, scheme: str) -> str:
    if scheme == "file":
        return f"{spec}: only http(s) URLs are fetched; give a local file as its path"
    return f"{spec}: only http(s) URLs are fetched, not {scheme}:// ones"
