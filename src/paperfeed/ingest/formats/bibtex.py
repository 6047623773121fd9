"""BibTeX entries with a title (and usually an abstract), parsed with bibtexparser 2.

The arXiv id comes from ``eprint`` (with ``archivePrefix = {arXiv}``, or one that is plainly an
arXiv id), an arXiv URL, or the "arXiv:2401.12345" that Google Scholar puts in ``journal``.
An abstract is optional: a bibliography of known papers still adds authors, DOIs and dates.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator, Mapping
from datetime import date
from typing import BinaryIO

import bibtexparser
from bibtexparser.model import Block, Entry, ParsingFailedBlock

from paperfeed.domain import Link, PaperRecord, RecordError
from paperfeed.ingest.formats import IngestError, Item, ParseOptions
from paperfeed.ingest.formats import fields as f
from paperfeed.ingest.ids import is_arxiv_id

# Failed blocks come back to us and are reported as RecordErrors; the library would also log
# each one to stderr, which a CLI ingest must not spray over its progress bar.
logging.getLogger("bibtexparser").setLevel(logging.CRITICAL)

MAX_BYTES = 256 * 1024 * 1024  # parsed whole; a bibliography is kilobytes to a few MiB
_ARXIV_IN_TEXT = re.compile(r"arXiv:\s*([\w./-]+?)(?:v\d+)?(?=[\s,;)}\]]|$)", re.IGNORECASE)
_NOT_ENTRY = re.compile(r"\s*@\s*(?:string|preamble|comment)\b", re.IGNORECASE)
_FAILED_KEY = re.compile(r"@\s*\w+\s*[{(]\s*([^,\s{}()]+)\s*,")


def parse(stream: BinaryIO, name: str, options: ParseOptions) -> Iterator[Item]:
    """Yield a record (or a RecordError) for every entry, in file order."""
    entries = list(_entry_blocks(_library_blocks(stream, name)))
    if not entries:  # e.g. a CSV file ingested with --format bibtex
        raise IngestError(f"{name}: no BibTeX entries (like @article{{key, title = ...}})")
    for number, block in enumerate(entries, 1):
        key = block.key if isinstance(block, Entry) else _failed_key(block)
        location = f"{name} entry {number} ({key or 'no key'}) line {(block.start_line or 0) + 1}"
        if not isinstance(block, Entry):
            yield RecordError(location, _failure_reason(block))
            continue
        try:
            yield entry_record(_fields(block), location)
        except f.FieldError as error:
            yield RecordError(location, str(error))


def _library_blocks(stream: BinaryIO, name: str) -> list[Block]:
    data = f.read_whole(stream, name, MAX_BYTES)
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise IngestError(f"{name}: not UTF-8 text (byte {error.start})") from None
    try:
        return list(bibtexparser.parse_string(text).blocks)
    except Exception as error:  # a third-party parser: whatever it raises, the file is unreadable
        raise IngestError(f"{name}: unreadable BibTeX ({type(error).__name__})") from None


def _entry_blocks(blocks: list[Block]) -> Iterator[Block]:
    """Entries and entries that failed to parse; @string, @preamble and @comment are not papers."""
    for block in blocks:
        failed = isinstance(block, ParsingFailedBlock) and not _NOT_ENTRY.match(block.raw or "")
        if isinstance(block, Entry) or failed:
            yield block


def _failed_key(block: Block) -> str | None:
    match = _FAILED_KEY.search(getattr(block, "raw", "") or "")
    return match[1] if match else None


def _failure_reason(block: Block) -> str:
    error = getattr(block, "error", None)
    text = getattr(error, "abort_reason", None) or getattr(error, "message", None) or str(error)
    lines = str(text).strip().splitlines()
    message = lines[0] if lines and error is not None else type(block).__name__
    return f"malformed entry: {message[:200]}"


def _fields(entry: Entry) -> dict[str, str]:
    """Field names lower-cased, values as text (bibtexparser has removed the outer braces)."""
    return {field.key.lower(): str(field.value) for field in entry.fields}


def entry_record(fields: Mapping[str, str], location: str) -> PaperRecord:
    """A PaperRecord from an entry's fields; FieldError when one is unusable."""
    paper_id = _arxiv_id(fields)
    doi = f.first_doi(_clean(fields.get("doi")))
    url = _url(fields)
    return PaperRecord(
        title=f.required_text(_clean(fields.get("title")), "title"),
        abstract=_clean(fields.get("abstract")) or "",
        id=paper_id,
        authors=authors(fields.get("author", "")),
        categories=_categories(fields),
        published=_published(fields),
        doi=doi,
        journal_ref=_journal(fields),
        comment=_clean(fields.get("note")),
        links=_links(paper_id, doi, url),
        location=location,
    )


def _clean(value: str | None) -> str | None:
    return f.delatex(value).strip() or None if value else None


def authors(value: str) -> list[str]:
    """Authors of a BibTeX author field, each as "First Last".

    "Last, First and Other Person and {Big Org}" -> ["First Last", "Other Person", "Big Org"].
    """
    names = []
    for raw in _split_top_level(value.strip()):
        parts = [part.strip() for part in _split_commas(raw)]
        if len(parts) == 2:  # Last, First
            parts = [parts[1], parts[0]]
        elif len(parts) >= 3:  # Last, Jr, First
            parts = [parts[2], parts[0], parts[1]]
        name = f.delatex(" ".join(p for p in parts if p)).strip()
        if name and name.lower() != "others":
            names.append(name)
    return names


def _split_top_level(value: str) -> list[str]:
    """Split on " and " outside braces: "{Barnes and Noble}" is one author."""
    pieces, depth, start = [], 0, 0
    for match in re.finditer(r"[{}]|\s+and\s+", value, re.IGNORECASE):
        token = match[0]
        if token == "{":
            depth += 1
        elif token == "}":
            depth = max(depth - 1, 0)
        elif depth == 0:
            pieces.append(value[start : match.start()])
            start = match.end()
    pieces.append(value[start:])
    return [piece for piece in pieces if piece.strip()]


def _split_commas(value: str) -> list[str]:
    parts, depth, start = [], 0, 0
    for index, char in enumerate(value):
        depth += (char == "{") - (char == "}")
        if char == "," and depth <= 0:
            parts.append(value[start:index])
            start = index + 1
    parts.append(value[start:])
    return parts


def _arxiv_id(fields: Mapping[str, str]) -> str | None:
    eprint = (fields.get("eprint") or "").strip()
    prefix = (fields.get("archiveprefix") or fields.get("eprinttype") or "").strip().lower()
    if eprint and (prefix == "arxiv" or is_arxiv_id(eprint)):
        return eprint
    for key in ("url", "doi", "journal", "note", "howpublished"):
        value = (fields.get(key) or "").strip()
        if key == "url" and f.is_arxiv_url(value):
            return value
        if match := _ARXIV_IN_TEXT.search(value):
            return match[1]
    return None


def _journal(fields: Mapping[str, str]) -> str | None:
    """The venue, unless it only says "arXiv preprint arXiv:..." (that is the id, not a venue)."""
    journal = _clean(fields.get("journal"))
    return None if journal and _ARXIV_IN_TEXT.search(journal) else journal


def _url(fields: Mapping[str, str]) -> str | None:
    url = (fields.get("url") or "").strip()
    return url if url.lower().startswith(("http://", "https://")) else None


def _categories(fields: Mapping[str, str]) -> list[str]:
    primary = (fields.get("primaryclass") or "").strip()
    keywords = [k.strip() for k in re.split(r"[,;]", _clean(fields.get("keywords")) or "")]
    return [c for c in (primary, *keywords) if c]


def _published(fields: Mapping[str, str]) -> date | None:
    if fields.get("date"):
        return f.parse_date(fields["date"].strip(), "date")
    year = (fields.get("year") or "").strip().strip("{}")
    if not year:
        return None
    month = (fields.get("month") or "").strip().strip("{}").rstrip(".")
    if not month:
        return f.parse_date(year, "year")
    number = int(month) if month.isdigit() else f.MONTHS.get(month.lower())
    if number is None or not 1 <= number <= 12:
        raise f.FieldError(f"month is not a month: {month[:20]!r}")
    return f.parse_date(f"{year}-{number:02d}", "year")


def _links(paper_id: str | None, doi: str | None, url: str | None) -> list[Link]:
    links = f.arxiv_links(paper_id)
    if url and not f.is_arxiv_url(url):
        links = [link for link in links if link.kind != "abs"] + [Link("abs", url)]
    if doi:
        links.append(f.doi_link(doi))
    return links
