"""Check and normalise a PaperRecord before it is merged: ids, whitespace, bounds."""

from __future__ import annotations

from collections.abc import Callable, Iterator

from paperfeed.domain import PaperRecord, RecordError, Version
from paperfeed.ingest.formats.fields import MAX_COUNT
from paperfeed.ingest.ids import InvalidPaperId, canonical_id, is_synthetic, title_key
from paperfeed.store.papers import PaperRows

MAX_TITLE = 1_000
MAX_ABSTRACT = 100_000
MAX_AUTHORS = 5_000
MAX_CATEGORY = 64
MAX_AI_SUMMARY = 5_000  # the Hub's are a sentence or two
MAX_AI_KEYWORDS = 100
MAX_AI_KEYWORD = 200
MAX_VERSION = 999_999  # as many digits as an arXiv id's version may have (ids.py)


class Prepared:
    """A valid record with its storage id and title key worked out.

    ``rows`` are the rows of the paper the record makes on its own when they were built ahead of
    the database (by ingest's parser process, ``paperfeed.ingest.feeder``). A record that came
    from that process is decoded (``load``) only when it has to be merged: a bulk load of new
    papers needs just the rows.
    """

    __slots__ = ("_load", "_record", "brings_activity", "id", "rows", "title_key")

    def __init__(
        self,
        paper_id: str,
        title_key: str,
        record: PaperRecord | None = None,
        rows: PaperRows | None = None,
        *,
        load: Callable[[], PaperRecord] | None = None,
        brings_activity: bool = False,
    ) -> None:
        if (record is None) == (load is None):
            raise ValueError("give a record or a way to load it, not both")
        self.id, self.title_key, self.rows = paper_id, title_key, rows
        self._record, self._load = record, load
        # Upvotes or GitHub stars: trending is recomputed once the ingest is done.
        self.brings_activity = brings_activity if record is None else _has_activity(record)

    @property
    def record(self) -> PaperRecord:
        if self._record is None:
            assert self._load is not None
            self._record, self._load = self._load(), None
        return self._record

    @property
    def synthetic(self) -> bool:
        return is_synthetic(self.id)


def _has_activity(record: PaperRecord) -> bool:
    return bool(record.upvotes) or any(link.stars is not None for link in record.links)


def collapse(text: str) -> str:
    """Collapse runs of whitespace (arXiv wraps titles and abstracts at ~80 columns)."""
    return " ".join(text.split())


def prepare(record: PaperRecord) -> Prepared | RecordError:
    record.title = collapse(record.title or "")
    record.abstract = collapse(record.abstract or "")
    record.ai_summary = collapse(record.ai_summary or "") or None
    record.ai_keywords = _keywords(record.ai_keywords)
    key = title_key(record.title)
    problem = _problem(record, key)
    if problem:
        return RecordError(record.location, problem)
    try:
        paper_id, version = canonical_id(record.id, record.title)
    except InvalidPaperId as error:
        return RecordError(record.location, str(error))
    if version is not None and all(v.number != version for v in record.versions):
        record.versions.append(Version(version))
    record.authors = [a for a in (collapse(name) for name in record.authors) if a]
    record.categories = list(dict.fromkeys(_categories(record.categories)))
    return Prepared(paper_id, key, record)


def _keywords(raw: list[str]) -> list[str]:
    """Trimmed, blank ones dropped, each once (the first spelling of any letter case)."""
    by_key: dict[str, str] = {}
    for word in (collapse(w) for w in raw):
        if word:
            by_key.setdefault(word.casefold(), word)
    return list(by_key.values())


def _categories(raw: list[str]) -> list[str]:
    # Some real records carry free text where a category belongs ("Information storage and
    # retrieval of data, ..."); a category is a short code, so longer strings are dropped.
    return [c.strip() for c in raw if c.strip() and len(c.strip()) <= MAX_CATEGORY]


def _problem(record: PaperRecord, key: str) -> str | None:
    if not record.title:
        return "missing title"
    if not key:
        return "title has no letters or digits"
    if len(record.title) > MAX_TITLE:
        return f"title longer than {MAX_TITLE} characters"
    if len(record.abstract) > MAX_ABSTRACT:
        return f"abstract longer than {MAX_ABSTRACT} characters"
    if len(record.authors) > MAX_AUTHORS:
        return f"more than {MAX_AUTHORS} authors"
    return _ai_problem(record) or _nul_problem(record) or _number_problem(record)


def _ai_problem(record: PaperRecord) -> str | None:
    if record.ai_summary and len(record.ai_summary) > MAX_AI_SUMMARY:
        return f"ai_summary longer than {MAX_AI_SUMMARY:,} characters"
    if len(record.ai_keywords) > MAX_AI_KEYWORDS:
        return f"more than {MAX_AI_KEYWORDS} ai_keywords"
    if any(len(word) > MAX_AI_KEYWORD for word in record.ai_keywords):
        return f"an ai_keywords entry longer than {MAX_AI_KEYWORD} characters"
    return None


def _texts(record: PaperRecord) -> Iterator[tuple[str, str | None]]:
    yield from (("title", record.title), ("abstract", record.abstract), ("id", record.id))
    yield from (("doi", record.doi), ("journal_ref", record.journal_ref))
    yield from (("comment", record.comment), ("submitter", record.submitter))
    yield from (("authors", name) for name in record.authors)
    yield from (("categories", name) for name in record.categories)
    yield from (("links", link.url) for link in record.links)
    yield ("ai_summary", record.ai_summary)
    yield from (("ai_keywords", word) for word in record.ai_keywords)


def _nul_problem(record: PaperRecord) -> str | None:
    # PostgreSQL cannot store NUL in text at all; every format is checked here, before SQL.
    for field, value in _texts(record):
        if value and "\x00" in value:
            return f"NUL character in {field}"
    return None


def _number_problem(record: PaperRecord) -> str | None:
    """Numbers past what the integer columns hold (a parser may pass on any int it read)."""
    counts = [("upvotes", record.upvotes)] + [("stars", link.stars) for link in record.links]
    for field, value in counts:
        if value is not None and not 0 <= value <= MAX_COUNT:
            return f"{field} out of range ({str(value)[:40]}; 0 to {MAX_COUNT:,})"
    for version in record.versions:
        if not 1 <= version.number <= MAX_VERSION:
            return f"version out of range (v{str(version.number)[:40]}; v1 to v{MAX_VERSION})"
    return None
