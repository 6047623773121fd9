"""`arxiv:QUERY` sources: the arXiv API, page by page, newest update first.

``arxiv:cat:cs.CL`` or any arXiv ``search_query``; ``arxiv:id:2401.12345,2401.00001`` asks for
those papers (``id_list``). Pages are fetched through the polite ArxivClient; after each page a
PageMark holds the next ``start`` so a killed ingest resumes at that page.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from datetime import date

from paperfeed.config import Settings
from paperfeed.domain import PaperRecord, RecordError
from paperfeed.ingest.formats import IngestError, Item
from paperfeed.ingest.formats.arxiv_atom import feed_total
from paperfeed.ingest.formats.arxiv_xml import parse_xml
from paperfeed.ingest.ids import InvalidPaperId, parse_arxiv_id
from paperfeed.ingest.net.arxiv_client import ArxivClient
from paperfeed.ingest.net.paged import ByteCounter, parse_body, source_key
from paperfeed.ingest.sources import PageMark

PAGE_SIZE = 200  # arXiv's manual suggests modest pages; 2000 is its hard maximum
ID_BATCH = 100


class ArxivQuerySource:
    """A Source over the results of one arXiv API query."""

    def __init__(
        self, query: str, settings: Settings, since: date | None, client: ArxivClient | None = None
    ) -> None:
        if not query.strip():
            raise IngestError("arxiv: give a query, e.g. arxiv:cat:cs.CL or arxiv:id:2401.12345")
        self.query, self.since, self.settings = query.strip(), since, settings
        self.label = f"arxiv:{self.query}"
        self.key = source_key("arxiv", self.query, since, settings.arxiv_api_url)
        self.size: int | None = None
        self.client = client or ArxivClient(settings)
        self._bytes = ByteCounter()
        self._ids = self.query.lower().startswith("id:")

    def position(self) -> int:
        return self._bytes.count

    def items(self, cursor: str | None) -> Iterator[Item | PageMark]:
        start = int(cursor) if cursor and cursor.isdigit() else 0
        while True:
            entries, total, older = self._page(start)
            yield from entries
            start += len(entries)
            yield PageMark(str(start))
            # An id_list is one page: arXiv's totalResults counts unknown ids it never sends.
            if not entries or older or self._ids or (total is not None and start >= total):
                return

    def _page(self, start: int) -> tuple[list[Item], int | None, bool]:
        """One page's items, opensearch:totalResults, and whether it reached ``since``."""
        params = {**_query_params(self.query), "start": str(start)}
        body = self._bytes.add(self.client.request(self.settings.arxiv_api_url, params).body)
        name = f"{self.label} (start={start})"
        total = feed_total(parse_xml(io.BytesIO(body), name, "arXiv Atom"))
        items = parse_body("arxiv-atom", body, name)
        if self.since is None:
            return items, total, False
        kept = [item for item in items if not _older(item, self.since)]
        return kept, total, len(kept) < len(items)


def _older(item: Item, since: date) -> bool:
    changed = item.updated or item.published if isinstance(item, PaperRecord) else None
    return changed is not None and changed < since


def _query_params(query: str) -> dict[str, str]:
    if query.lower().startswith("id:"):
        ids = [i.strip() for i in query[3:].split(",") if i.strip()]
        return {"id_list": ",".join(ids), "max_results": str(len(ids) or 1)}
    return {
        "search_query": query,
        "max_results": str(PAGE_SIZE),
        "sortBy": "lastUpdatedDate",
        "sortOrder": "descending",
    }


def arxiv_query_source(
    query: str, settings: Settings, since: date | None = None
) -> ArxivQuerySource:
    """The Source for `paperfeed ingest arxiv:QUERY`."""
    return ArxivQuerySource(query, settings, since)


def fetch_arxiv_records(
    ids: list[str], settings: Settings, client: ArxivClient | None = None
) -> list[PaperRecord]:
    """The arXiv metadata of ``ids`` (any spelling), in the order asked; IngestError when an
    id is malformed or unknown to arXiv (arXiv answers an unknown id with an empty feed)."""
    wanted = [_checked_id(raw) for raw in ids]
    client = client or ArxivClient(settings)
    found: dict[str, PaperRecord] = {}
    for offset in range(0, len(wanted), ID_BATCH):
        batch = wanted[offset : offset + ID_BATCH]
        source = ArxivQuerySource("id:" + ",".join(batch), settings, None, client)
        for item in source.items(None):
            if isinstance(item, RecordError):
                raise IngestError(f"arXiv sent an unreadable record: {item}")
            if isinstance(item, PaperRecord) and item.id:
                found[parse_arxiv_id(item.id).base] = item
    missing = [raw for raw, base in zip(ids, wanted, strict=True) if _base(base) not in found]
    if missing:
        raise IngestError(f"arXiv has no paper with id {', '.join(missing)}")
    return [found[_base(base)] for base in wanted]


def _checked_id(raw: str) -> str:
    try:
        return str(parse_arxiv_id(raw))
    except InvalidPaperId:
        raise IngestError(f"not an arXiv id: {raw!r}") from None


def _base(arxiv_id: str) -> str:
    return parse_arxiv_id(arxiv_id).base
