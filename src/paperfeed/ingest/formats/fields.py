"""Coercions shared by the parsers: text, authors, dates, categories, links.

Each function takes a value as a source wrote it and returns the domain's shape, or raises
FieldError with a reason fit for a RecordError. Values of the wrong JSON type are errors, never
a TypeError: input files are untrusted.
"""

from __future__ import annotations

import json
import math
import re
import unicodedata
import zlib
from collections.abc import Mapping
from datetime import date
from typing import Any, BinaryIO

import orjson

from paperfeed.domain import Link
from paperfeed.ingest.formats import IngestError
from paperfeed.ingest.ids import InvalidPaperId, parse_arxiv_id

_MONTH_NAMES = ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"]
_LONG_NAMES = (
    "january february march april may june july august september october november december"
)
MONTHS = {
    **{name: number for number, name in enumerate(_MONTH_NAMES, 1)},
    **{name: number for number, name in enumerate(_LONG_NAMES.split(), 1)},
    "sept": 9,
}
_YEAR_MONTH = re.compile(r"^(\d{4})[-/](\d{1,2})$")
# "Mon, 2 Apr 2007 19:18:42 GMT", "2 Apr 2007", "Mar 14, 2025", "March 2024".
_DAY_MONTH_YEAR = re.compile(r"^(?:[A-Za-z]{3},?\s+)?(\d{1,2})\s+([A-Za-z]{3,9})\.?,?\s+(\d{4})\b")
_MONTH_DAY_YEAR = re.compile(r"^([A-Za-z]{3,9})\.?\s+(\d{1,2}),?\s+(\d{4})$")
_MONTH_YEAR = re.compile(r"^([A-Za-z]{3,9})\.?\s+(\d{4})$")
_ARXIV_URL = re.compile(r"^https?://(?:www\.|export\.)?arxiv\.org/(?:abs|pdf|html)/\S+$", re.I)
_AND = re.compile(r"\s+(?:and|&)\s+", re.IGNORECASE)
_CATEGORY_SEPARATORS = re.compile(r"[\s,;]+")


# Largest count (upvotes, stars) taken: counts are 32-bit integer columns (PostgreSQL's integer,
# 2^31 - 1), and trending adds them up per day, so stay well below that.
MAX_COUNT = 1_000_000_000

# What reading a corrupt or truncated gzip stream raises (sources unwraps gzip for us).
STREAM_ERRORS = (OSError, EOFError, zlib.error)


class FieldError(ValueError):
    """A field's value cannot be used; the message is the RecordError's reason."""


def unreadable(name: str, error: BaseException) -> IngestError:
    """The IngestError for an input whose bytes cannot be read at all."""
    return IngestError(f"{name}: unreadable input ({type(error).__name__}: {error})")


def read_whole(stream: BinaryIO, name: str, limit: int) -> bytes:
    """The whole input, for formats parsed in one piece; IngestError past ``limit`` bytes."""
    try:
        data = stream.read(limit + 1)
    except STREAM_ERRORS as error:
        raise unreadable(name, error) from None
    if len(data) > limit:
        raise IngestError(f"{name}: larger than {limit // 2**20} MiB, too big for this format")
    return data


def loads_json(data: bytes | str) -> Any:
    """JSON with orjson; what orjson cannot hold (integers past 64 bits, NaN, Infinity, 1e999)
    is read again by the standard library, so the record holding it is the one reported (its
    field check refuses the value) instead of the whole input. Raises orjson's error when the
    text is not JSON at all."""
    try:
        return orjson.loads(data)
    except orjson.JSONDecodeError as error:
        try:
            return json.loads(data, parse_constant=lambda _name: math.nan)
        except (ValueError, RecursionError):  # int_max_str_digits is a ValueError too
            raise error from None


def text(value: object, field: str) -> str | None:
    """An optional text field: None or blank gives None; a number is an error, not text (a
    JSON number id like 2401.10000 has already lost its trailing zeros)."""
    if value is None:
        return None
    if isinstance(value, str):
        return value if value.strip() else None
    raise FieldError(f"{field} is not a string ({type(value).__name__})")


def required_text(value: object, field: str) -> str:
    """A field a paper cannot do without (its title)."""
    found = text(value, field)
    if found is None:
        raise FieldError(f"missing {field}")
    return found


def first(mapping: Mapping[str, Any], *keys: str) -> Any:
    """The value of the first of ``keys`` present (not None) in ``mapping``: field aliases."""
    for key in keys:
        value = mapping.get(key)
        if value is not None:
            return value
    return None


def authors(value: object) -> list[str]:
    """Authors from a list of names or of {"name": ...}, or from "A, B and C" / "A; B"."""
    if value is None:
        return []
    if isinstance(value, str):
        return split_authors(value)
    if isinstance(value, list):
        return [name for name in (_author_name(item) for item in value) if name]
    raise FieldError(f"authors is not a list or a string ({type(value).__name__})")


def _author_name(item: object) -> str:
    if isinstance(item, str):
        return item.strip()
    if isinstance(item, Mapping):
        name = first(item, "name", "fullname")
        if isinstance(name, str):
            return name.strip()
    raise FieldError("an author is neither a name nor an object with a name")


def split_authors(value: str, commas: bool = True) -> list[str]:
    """Split "A, B and C" or "A; B"; commas inside parentheses (affiliations) do not split.

    ``commas=False`` keeps "Last, First" whole, for sources whose only separators are ";" and
    " and " (CSV).
    """
    if ";" in value:
        parts = value.split(";")
    else:
        parts = _split_outside_parens(value) if commas else [value]
    names: list[str] = []
    for part in parts:
        names.extend(piece.strip() for piece in _AND.split(part))
    return [name for name in names if name]


def _split_outside_parens(value: str) -> list[str]:
    if "(" not in value:
        return value.split(",")
    parts, depth, start = [], 0, 0
    for index, char in enumerate(value):
        if char == "(":
            depth += 1
        elif char == ")":
            depth = max(depth - 1, 0)
        elif char == "," and depth == 0:
            parts.append(value[start:index])
            start = index + 1
    parts.append(value[start:])
    return parts


def categories(value: object) -> list[str]:
    """Categories from a list, or a string separated by spaces, commas or semicolons."""
    if value is None:
        return []
    if isinstance(value, str):
        return [c for c in _CATEGORY_SEPARATORS.split(value) if c]
    if isinstance(value, list) and all(isinstance(c, str) for c in value):
        return [c.strip() for c in value if c.strip()]
    raise FieldError("categories is not a list of strings or a string")


def parse_date(value: object, field: str = "date") -> date | None:
    """A day from an ISO date or datetime, RFC 2822, "2024-03", "2024", "Mar 14, 2025".

    A year alone or a year and month give the first day of that period: the domain keeps days.
    """
    if value is None:
        return None
    if isinstance(value, int) and not isinstance(value, bool) and 1000 <= value <= 9999:
        return date(value, 1, 1)
    if not isinstance(value, str):
        raise FieldError(f"{field} is not a date string ({type(value).__name__})")
    raw = value.strip()
    if not raw:
        return None
    try:
        found = _parse_date_text(raw)
    except ValueError:  # out-of-range parts, e.g. 2024-02-30
        found = None
    if found is None:
        raise FieldError(f"{field} is not a date: {raw[:40]!r}")
    return found


def _parse_date_text(raw: str) -> date | None:
    if len(raw) >= 10 and raw[4] == "-" and raw[7] == "-" and raw[:4].isdigit():
        if len(raw) == 10 or raw[10] in "T t":
            return date.fromisoformat(raw[:10])
        return None
    if len(raw) == 4 and raw.isdigit():
        return date(int(raw), 1, 1)
    if match := _YEAR_MONTH.match(raw):
        return date(int(match[1]), int(match[2]), 1)
    if match := _DAY_MONTH_YEAR.match(raw):
        return _named_month(match[3], match[2], match[1])
    if match := _MONTH_DAY_YEAR.match(raw):
        return _named_month(match[3], match[1], match[2])
    if match := _MONTH_YEAR.match(raw):
        return _named_month(match[2], match[1], "1")
    return None


def _named_month(year: str, month: str, day: str) -> date | None:
    number = MONTHS.get(month.lower())
    return date(int(year), number, int(day)) if number else None


def rfc2822_day(value: str) -> date | None:
    """The day of "Mon, 2 Apr 2007 19:18:42 GMT" quickly (the bulk snapshot path)."""
    parts = value.split()
    try:
        return date(int(parts[3]), MONTHS[parts[2].lower()], int(parts[1]))
    except (IndexError, KeyError, ValueError):
        return parse_date(value, "version date")


def count(value: object, field: str) -> int | None:
    """A non-negative count (upvotes, stars) from a number or a numeric string, at most
    MAX_COUNT; NaN, infinities and fractions are errors."""
    if value is None or value == "":
        return None
    found: int | None = None
    if isinstance(value, str) and value.strip().isascii() and value.strip().isdigit():
        found = int(value.strip()) if len(value.strip()) <= 20 else MAX_COUNT + 1
    elif isinstance(value, int) and not isinstance(value, bool):
        found = value
    elif isinstance(value, float) and value.is_integer():  # is_integer: False for NaN and inf
        found = int(value)
    if found is None or found < 0:
        raise FieldError(f"{field} is not a non-negative whole number: {str(value)[:40]!r}")
    if found > MAX_COUNT:
        raise FieldError(f"{field} is too large ({str(value)[:40]}; at most {MAX_COUNT:,})")
    return found


def is_arxiv_url(url: str) -> bool:
    """Whether ``url`` names an arXiv paper (abs, pdf or html page)."""
    return bool(_ARXIV_URL.match(url.strip()))


def web_url(value: object, field: str) -> str | None:
    """An http(s) URL; other schemes (javascript:, file:) are refused, they end up in links."""
    url = text(value, field)
    if url is None:
        return None
    url = url.strip()
    if not url.lower().startswith(("http://", "https://")) or any(c.isspace() for c in url):
        raise FieldError(f"{field} is not an http(s) URL: {url[:60]!r}")
    return url


def arxiv_links(raw_id: str | None) -> list[Link]:
    """The abstract and PDF links of an arXiv id in any spelling (unversioned: the latest).

    Not an arXiv id: no links; normalise reports a bad id with its reason.
    """
    if not raw_id:
        return []
    try:
        base = parse_arxiv_id(raw_id).base
    except InvalidPaperId:
        return []
    return [
        Link("abs", f"https://arxiv.org/abs/{base}"),
        Link("pdf", f"https://arxiv.org/pdf/{base}"),
    ]


def doi_link(doi: str) -> Link:
    """The resolver link of a DOI."""
    return Link("doi", f"https://doi.org/{doi}")


def first_doi(value: object) -> str | None:
    """The first DOI of a field that may list several separated by spaces (as arXiv does)."""
    found = text(value, "doi")
    if found is None:
        return None
    doi = found.split()[0]
    for prefix in ("https://doi.org/", "http://dx.doi.org/", "doi:"):
        if doi.lower().startswith(prefix):
            doi = doi[len(prefix) :]
    return doi or None


# LaTeX accent commands and the Unicode combining marks they stand for, then letter commands.
_COMBINING = "\u0308\u0301\u0300\u0302\u0303\u0304\u0307\u0306\u030c\u030b\u0327\u0328\u030a"
_ACCENTS = dict(zip("\"'`^~=.uvHckr", _COMBINING, strict=True))
_SYMBOLS = dict(
    zip(
        ["ss", "o", "O", "ae", "AE", "oe", "OE", "aa", "AA", "l", "L", "i", "j"],
        ["ß", "ø", "Ø", "æ", "Æ", "œ", "Œ", "å", "Å", "ł", "Ł", "ı", "ȷ"],
        strict=True,
    )
)
_ACCENT_RE = re.compile(r"\\([\"'`^~=.])\s*(?:\{\s*(\\?[A-Za-z])\s*\}|(\\?[A-Za-z]))")
_LETTER_ACCENT_RE = re.compile(r"\\([uvHckr])(?:\s*\{\s*(\\?[A-Za-z])\s*\}|\s+(\\?[A-Za-z]))")
_SYMBOL_RE = re.compile(r"\\(ss|ae|AE|oe|OE|aa|AA|[oOlLij])(?![A-Za-z])\s*(?:\{\})?")
_BRACE = re.compile(r"(?<!\\)[{}]")
_ESCAPED = re.compile(r"\\([&%$#_{}])")


def delatex(value: str) -> str:
    """Turn LaTeX accents and escapes into Unicode and drop grouping braces: {\\"u} -> ü.

    Math ($...$) and unknown commands are left as written; only text markup is undone.
    """
    if "\\" not in value and "{" not in value:
        return value
    out = _ACCENT_RE.sub(_accent, value)
    out = _LETTER_ACCENT_RE.sub(_accent, out)
    out = _SYMBOL_RE.sub(lambda m: _SYMBOLS[m[1]], out)
    out = _BRACE.sub("", out)
    out = _ESCAPED.sub(lambda m: m[1], out)
    return unicodedata.normalize("NFC", out)


def _accent(match: re.Match[str]) -> str:
    letter = match[2] or match[3]
    if letter.startswith("\\"):
        # A dotless i or j under an accent is how LaTeX spells an accented i or j.
        letter = letter[1:] if letter[1:] in "ij" else _SYMBOLS.get(letter[1:], letter[1:])
    return letter + _ACCENTS[match[1]]
