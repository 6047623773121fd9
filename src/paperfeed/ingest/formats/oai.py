"""Format `oai`: arXiv OAI-PMH responses (ListRecords / GetRecord), `arXiv` or `oai_dc` metadata.

Deleted records (``<header status="deleted">``) carry no metadata and are skipped. OAI errors:
``noRecordsMatch`` is an empty harvest (no records, no error); any other code is an IngestError
with the code and arXiv's message. ``resumption`` reads the token that continues a harvest.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import BinaryIO
from xml.etree.ElementTree import Element

from paperfeed.domain import PaperRecord, RecordError
from paperfeed.ingest.formats import IngestError, Item, ParseOptions
from paperfeed.ingest.formats.arxiv_xml import (
    NS,
    FieldError,
    day,
    parse_xml,
    text_of,
    texts_of,
)
from paperfeed.ingest.formats.fields import arxiv_links, doi_link, first_doi

_OAI_ROOT = "{http://www.openarchives.org/OAI/2.0/}OAI-PMH"
_ARXIV_PREFIX = "oai:arXiv.org:"

# oai_dc spells categories out ("Computer Science - Computation and Language"); the ones
# paperfeed's corpus is mostly made of are mapped back to their codes, others are dropped.
_SUBJECTS = {
    "Computer Science - Artificial Intelligence": "cs.AI",
    "Computer Science - Computation and Language": "cs.CL",
    "Computer Science - Computer Vision and Pattern Recognition": "cs.CV",
    "Computer Science - Machine Learning": "cs.LG",
    "Computer Science - Information Retrieval": "cs.IR",
    "Computer Science - Robotics": "cs.RO",
    "Computer Science - Neural and Evolutionary Computing": "cs.NE",
    "Computer Science - Human-Computer Interaction": "cs.HC",
    "Computer Science - Multiagent Systems": "cs.MA",
    "Computer Science - Graphics": "cs.GR",
    "Computer Science - Sound": "cs.SD",
    "Computer Science - Software Engineering": "cs.SE",
    "Computer Science - Cryptography and Security": "cs.CR",
    "Computer Science - Multimedia": "cs.MM",
    "Statistics - Machine Learning": "stat.ML",
    "Electrical Engineering and Systems Science - Image and Video Processing": "eess.IV",
    "Electrical Engineering and Systems Science - Audio and Speech Processing": "eess.AS",
}


@dataclass(frozen=True, slots=True)
class Resumption:
    """Where a ListRecords harvest goes on: ``token`` is None on the last page."""

    token: str | None
    complete_size: int | None = None


def parse(stream: BinaryIO, name: str, options: ParseOptions) -> Iterator[Item]:
    """Yield a PaperRecord per live record of the response."""
    root = _root(stream, name)
    for number, record in enumerate(root.iterfind(".//oai:record", NS), start=1):
        header = record.find("oai:header", NS)
        if header is None or header.get("status") == "deleted":
            continue
        location = f"{name} record {number}"
        try:
            yield _record(record, header, location)
        except FieldError as error:
            yield RecordError(location, str(error))


def resumption(stream: BinaryIO, name: str) -> Resumption:
    """The resumptionToken of a response (None when it is the last page, or empty)."""
    root = _root(stream, name)
    element = root.find(".//oai:resumptionToken", NS)
    if element is None:
        return Resumption(None)
    size = element.get("completeListSize", "")
    token = (element.text or "").strip() or None
    return Resumption(token, int(size) if size.isdigit() else None)


def _root(stream: BinaryIO, name: str) -> Element:
    root = parse_xml(stream, name, "OAI-PMH")
    if root.tag != _OAI_ROOT:
        raise IngestError(f"{name}: not an OAI-PMH response (root element {root.tag!r})")
    for error in root.findall("oai:error", NS):
        code = error.get("code", "unknown")
        if code != "noRecordsMatch":
            message = "".join(error.itertext()).strip()
            raise IngestError(f"{name}: OAI-PMH error {code}: {message}")
    return root


def _record(record: Element, header: Element, location: str) -> PaperRecord:
    metadata = record.find("oai:metadata", NS)
    if metadata is None:
        raise FieldError("record without metadata")
    arxiv = metadata.find("arXiv:arXiv", NS)
    if arxiv is not None:
        return _from_arxiv(arxiv, location)
    dc = metadata.find("oai_dc:dc", NS)
    if dc is not None:
        return _from_dc(dc, _header_id(header), location)
    raise FieldError("metadata is neither `arXiv` nor `oai_dc`")


def _header_id(header: Element) -> str | None:
    identifier = text_of(header, "oai:identifier") or ""
    return identifier[len(_ARXIV_PREFIX) :] if identifier.startswith(_ARXIV_PREFIX) else None


def _from_arxiv(meta: Element, location: str) -> PaperRecord:
    paper_id = text_of(meta, "arXiv:id")
    if paper_id is None:
        raise FieldError("record without an arXiv id")
    doi = first_doi(text_of(meta, "arXiv:doi"))
    return PaperRecord(
        id=paper_id,
        title=text_of(meta, "arXiv:title") or "",
        abstract=text_of(meta, "arXiv:abstract") or "",
        authors=[_author(a) for a in meta.findall("arXiv:authors/arXiv:author", NS)],
        categories=(text_of(meta, "arXiv:categories") or "").split(),
        published=day(text_of(meta, "arXiv:created"), "created"),
        updated=day(text_of(meta, "arXiv:updated"), "updated"),
        doi=doi,
        journal_ref=text_of(meta, "arXiv:journal-ref"),
        comment=text_of(meta, "arXiv:comments"),
        links=arxiv_links(paper_id) + ([doi_link(doi)] if doi else []),
        location=location,
    )


def _author(author: Element) -> str:
    """ "Forenames Keyname Suffix", the way the paper itself prints the name."""
    parts = (text_of(author, f"arXiv:{part}") for part in ("forenames", "keyname", "suffix"))
    return " ".join(part for part in parts if part)


def _from_dc(dc: Element, header_id: str | None, location: str) -> PaperRecord:
    identifiers = texts_of(dc, "dc:identifier")
    paper_id = _dc_arxiv_id(identifiers) or header_id
    dates = [day(value, "date") for value in texts_of(dc, "dc:date")]
    descriptions = texts_of(dc, "dc:description")
    comments = [d[len("Comment:") :].strip() for d in descriptions if d.startswith("Comment:")]
    abstract = next((d for d in descriptions if not d.startswith("Comment:")), "")
    doi = next((first_doi(i) for i in identifiers if i.lower().startswith("doi:")), None)
    return PaperRecord(
        id=paper_id,
        title=text_of(dc, "dc:title") or "",
        abstract=abstract,
        authors=[_dc_creator(c) for c in texts_of(dc, "dc:creator")],
        categories=_dc_categories(texts_of(dc, "dc:subject")),
        published=dates[0] if dates else None,
        updated=dates[-1] if len(dates) > 1 else None,
        doi=doi,
        comment=comments[0] if comments else None,
        links=(arxiv_links(paper_id) if paper_id else []) + ([doi_link(doi)] if doi else []),
        location=location,
    )


def _dc_arxiv_id(identifiers: list[str]) -> str | None:
    for identifier in identifiers:
        for marker in ("arxiv.org/abs/", "arXiv:"):
            if marker in identifier:
                return identifier.split(marker, 1)[1].strip()
    return None


def _dc_creator(creator: str) -> str:
    """ "Last, First" -> "First Last" (a name without a comma is kept as written)."""
    last, comma, given = creator.partition(",")
    return f"{given.strip()} {last.strip()}" if comma and given.strip() else creator.strip()


def _dc_categories(subjects: list[str]) -> list[str]:
    codes = [_SUBJECTS.get(s) or (s if _looks_like_code(s) else None) for s in subjects]
    return [code for code in codes if code]


def _looks_like_code(subject: str) -> bool:
    head = subject.split(".", 1)[0]
    return " " not in subject and head.replace("-", "").isalpha() and head.islower()
