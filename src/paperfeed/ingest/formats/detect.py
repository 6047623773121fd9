"""Tell an input's format from its first bytes, and from its name's extension when they are
ambiguous (an empty JSON array, say). Content wins over the name: files are often misnamed.
"""

from __future__ import annotations

import codecs
import re

import orjson

from paperfeed.ingest.formats import IngestError
from paperfeed.ingest.formats.csv import header_delimiter
from paperfeed.ingest.formats.fields import loads_json
from paperfeed.ingest.formats.page import looks_like_page

ATOM_NAMESPACE = "http://www.w3.org/2005/Atom"
# Keys only the arXiv snapshot has; the flat JSON-lines shape never uses them.
SNAPSHOT_KEYS = frozenset({"versions", "authors_parsed", "update_date", "journal-ref"})
_BIBTEX = re.compile(
    r"^\s*@\s*(?:article|inproceedings|incollection|misc|book|inbook|booklet|techreport|"
    r"phdthesis|mastersthesis|unpublished|online|proceedings|manual|conference|report|"
    r"thesis|software|dataset|electronic|string|preamble|comment)\s*[{(]",
    re.IGNORECASE | re.MULTILINE,
)
_LINE_OF_OBJECT = re.compile(r"\n\{\s*\"")
_FIRST_VALUE_IS_OBJECT = re.compile(r'\{\s*"[^"]*"\s*:\s*\{')
_SNAPSHOT_KEY = re.compile(r'"(?:versions|authors_parsed|update_date|journal-ref)"\s*:')
_XML_ROOT = re.compile(r"<(?![?!])([\w.-]+:)?([\w.-]+)")
_EXTENSIONS = {
    ".bib": "bibtex",
    ".bibtex": "bibtex",
    ".csv": "csv",
    ".tsv": "csv",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".json": "hf-daily",
    ".txt": "page",
}


def detect_format(head: bytes, name: str) -> str:
    """The format name of an input whose (decompressed) first bytes are ``head``."""
    text = _decode(head)
    if text is None:
        raise _unknown(name, "it is not UTF-8 text")
    stripped = text.lstrip()
    if not stripped:
        raise _unknown(name, "it is empty")
    found = _by_content(stripped, text)
    if found is not None:
        return found
    by_name = _by_extension(name)
    if by_name is not None and by_name in _PLAUSIBLE.get(stripped[0], (by_name,)):
        return by_name
    raise _unknown(name, "its content matches none of them")


# What a leading character allows the extension to decide, when the content did not.
_PLAUSIBLE = {"[": ("hf-daily",), "{": ("hf-daily", "jsonl"), "<": ()}


def _by_content(stripped: str, text: str) -> str | None:
    first = stripped[0]
    if first == "<":
        return _xml_format(stripped)
    if first in "[{":
        return _json_format(stripped)
    if _BIBTEX.search(text):
        return "bibtex"
    if _is_csv_header(stripped.split("\n", 1)[0]):
        return "csv"
    if looks_like_page(text):
        return "page"
    return None


def _is_csv_header(line: str) -> bool:
    """A header row naming a title column among others (a lone "Title" line is a page's)."""
    delimiter = header_delimiter(line)
    return delimiter is not None and delimiter in line


def _xml_format(text: str) -> str | None:
    root = _first_element(text)
    if root == "feed" and ATOM_NAMESPACE in text[:4096]:
        return "arxiv-atom"
    if root == "OAI-PMH":
        return "oai"
    return None


def _first_element(text: str) -> str | None:
    """The local name of the first element, past the XML declaration and comments."""
    match = _XML_ROOT.search(text)
    return match[2] if match else None


def _json_format(text: str) -> str | None:
    if text[0] == "[":
        return "hf-daily"
    line = text.split("\n", 1)[0]
    try:
        first = loads_json(line)
    except orjson.JSONDecodeError:
        return _unparsed_first_line(text)
    if not isinstance(first, dict):
        return None
    if SNAPSHOT_KEYS & first.keys():
        return "arxiv-json"
    if _is_hf_document(first):
        return "hf-daily"
    return "jsonl" if "title" in first else None


def _unparsed_first_line(text: str) -> str:
    """The first line is not a whole JSON value: a pretty-printed document, JSON lines whose
    first line is broken, or a first line longer than the head."""
    if "\n" not in text:
        # One line cut by the head's end: a document whose first value is an object is the
        # Hugging Face shape (keyed by id, or an item with "paper"); else it is a record.
        if _FIRST_VALUE_IS_OBJECT.match(text):
            return "hf-daily"
    elif _LINE_OF_OBJECT.search(text) is None:
        # Spread over lines, and no line opens an object: JSON lines are one object a line,
        # so this can only be the Hugging Face document, pretty-printed.
        return "hf-daily"
    return "arxiv-json" if _SNAPSHOT_KEY.search(text) else "jsonl"


def _is_hf_document(obj: dict[str, object]) -> bool:
    """One HF item (with "paper"), or the object keyed by arXiv id whose values are papers."""
    if isinstance(obj.get("paper"), dict):
        return True
    values = list(obj.values())[:3]
    return bool(values) and all(isinstance(v, dict) and "title" in v for v in values)


def _by_extension(name: str) -> str | None:
    lowered = name.lower()
    if lowered.endswith(".gz"):
        lowered = lowered[:-3]
    for extension, fmt in _EXTENSIONS.items():
        if lowered.endswith(extension):
            return fmt
    return None


def _decode(head: bytes) -> str | None:
    """The head as text; a character cut in two at the end of the head is not an error."""
    decoder = codecs.getincrementaldecoder("utf-8-sig")()
    try:
        return decoder.decode(head, final=False)
    except UnicodeDecodeError:
        return None


def _unknown(name: str, why: str) -> IngestError:
    return IngestError(
        f"{name}: cannot tell the format ({why}); pass --format with one of: page, arxiv-json, "
        "arxiv-atom, oai, hf-daily, jsonl, csv, bibtex"
    )
