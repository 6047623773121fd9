"""`oai:SET` sources: harvesting arXiv's OAI-PMH endpoint with ListRecords.

``oai:cs`` harvests the set ``cs`` in the ``arXiv`` metadata format; options go after ``?``:
``oai:cs?prefix=oai_dc&from=2024-01-01&until=2024-01-31``. ``--since`` gives ``from`` for an
incremental harvest. After each page a PageMark holds the resumptionToken, so a killed ingest
restarts with that token instead of from the first page. Every request goes through the polite
ArxivClient (one at a time, spaced, retried on 503 + Retry-After, as arXiv asks).
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from datetime import date
from urllib.parse import parse_qsl

from paperfeed.config import Settings
from paperfeed.ingest.formats import IngestError, Item, ParseOptions
from paperfeed.ingest.formats.oai import resumption
from paperfeed.ingest.net.arxiv_client import ArxivClient
from paperfeed.ingest.net.paged import ByteCounter, parse_body, source_key
from paperfeed.ingest.sources import PageMark

PREFIXES = ("arXiv", "oai_dc")
_OPTIONS = {"prefix", "metadataPrefix", "from", "until"}


class OaiSource:
    """A Source over one ListRecords harvest."""

    def __init__(
        self, spec: str, settings: Settings, since: date | None, client: ArxivClient | None = None
    ) -> None:
        self.settings = settings
        self.params = harvest_params(spec, since)
        self.label = f"oai:{spec}"
        self.key = source_key("oai", sorted(self.params.items()), settings.arxiv_oai_url)
        self.size: int | None = None
        self.client = client or ArxivClient(settings)
        self._bytes = ByteCounter()

    def position(self) -> int:
        return self._bytes.count

    def items(self, cursor: str | None) -> Iterator[Item | PageMark]:
        token = cursor
        page = 0
        while True:
            page += 1
            params = {
                "verb": "ListRecords",
                **({"resumptionToken": token} if token else self.params),
            }
            response = self.client.request(self.settings.arxiv_oai_url, params)
            body = self._bytes.add(response.body)
            name = f"{self.label} (page {page}{', token ' + token if token else ''})"
            yield from parse_body("oai", body, name, ParseOptions())
            token = resumption(io.BytesIO(body), name).token
            if token is None:
                return
            yield PageMark(token)


def harvest_params(spec: str, since: date | None) -> dict[str, str]:
    """ListRecords arguments from `SET?prefix=..&from=..&until=..` and ``--since``."""
    set_spec, _, query = spec.partition("?")
    options = dict(parse_qsl(query, keep_blank_values=False))
    unknown = set(options) - _OPTIONS
    if unknown:
        raise IngestError(f"oai:{spec}: unknown option(s) {', '.join(sorted(unknown))}")
    prefix = options.get("prefix") or options.get("metadataPrefix") or "arXiv"
    if prefix not in PREFIXES:
        raise IngestError(f"oai:{spec}: metadata prefix must be one of {', '.join(PREFIXES)}")
    params = {"metadataPrefix": prefix}
    if set_spec.strip():
        params["set"] = set_spec.strip()
    for name in ("from", "until"):
        if name in options:
            params[name] = _checked_day(options[name], spec)
    if since is not None and "from" not in params:
        params["from"] = since.isoformat()
    return params


def _checked_day(value: str, spec: str) -> str:
    try:
        return date.fromisoformat(value).isoformat()
    except ValueError:
        raise IngestError(f"oai:{spec}: {value!r} is not a date YYYY-MM-DD") from None


def oai_source(
    set_spec: str, settings: Settings, since: date | None = None, fmt: str | None = None
) -> OaiSource:
    """The Source for `paperfeed ingest oai:SET`."""
    if fmt not in (None, "oai"):
        raise IngestError(f"oai:{set_spec}: OAI-PMH responses are read as format `oai`, not {fmt}")
    return OaiSource(set_spec, settings, since)
