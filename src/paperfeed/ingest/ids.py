"""Paper identifiers: arXiv ids in every spelling, and stable ids for papers without one."""

from __future__ import annotations

import contextlib
import hashlib
import re
import unicodedata
from dataclasses import dataclass
from datetime import date

# New style (0704 onwards): YYMM.NNNN (until 1412) or YYMM.NNNNN; old style: archive/YYMMNNN.
# ASCII only (``\d`` would take any Unicode digit) and a bounded version number, so what parses
# is exactly what is stored, and a version always fits the database's integer column.
_MONTH = r"(?:0[1-9]|1[0-2])"
_NEW = rf"(?P<new>\d\d{_MONTH}\.\d{{4,5}})"
_OLD = rf"(?P<old>[a-z]+(?:-[a-z]+)*(?:\.[A-Z]{{2}})?/\d\d{_MONTH}\d{{3}})"
_ID_RE = re.compile(rf"(?:{_NEW}|{_OLD})(?:v(?P<version>[1-9]\d{{0,5}}))?", re.ASCII)
_PREFIX_RE = re.compile(
    r"^(?:arxiv:|https?://(?:www\.|export\.)?arxiv\.org/(?:abs|pdf|html)/"
    r"|https?://(?:www\.)?(?:huggingface\.co|hf\.co)/papers/)",
    re.IGNORECASE,
)
SYNTHETIC_PREFIX = "pf-"
_WORD = re.compile(r"\w+")


class InvalidPaperId(ValueError):
    """Raised for a string that is not an arXiv id in any accepted spelling."""


@dataclass(frozen=True, slots=True)
class ArxivId:
    base: str
    version: int | None = None

    def __str__(self) -> str:
        return self.base if self.version is None else f"{self.base}v{self.version}"


def parse_arxiv_id(raw: str) -> ArxivId:
    """Parse `2401.12345v2`, `arXiv:2401.12345`, `https://arxiv.org/abs/2401.12345v3`,
    `https://arxiv.org/pdf/2401.12345v1.pdf`, `cs/0601001`, `math.GT/0309136v2`."""
    text = raw.strip()
    text = _PREFIX_RE.sub("", text)
    text = text.split("?", 1)[0].split("#", 1)[0].rstrip("/")
    if text.lower().endswith(".pdf"):
        text = text[:-4]
    match = _ID_RE.fullmatch(text)
    if not match:
        raise InvalidPaperId(f"not an arXiv id: {raw!r}")
    base = match.group("new") or match.group("old")
    version = match.group("version")
    return ArxivId(base, int(version) if version else None)


def id_spellings(raw: str) -> list[str]:
    """The stored ids that a public id may be: itself, and for an arXiv id in any spelling
    (``arXiv:2401.12345v2``, an arXiv URL) its base id, under which the paper is stored."""
    spellings = [raw.strip()]
    with contextlib.suppress(InvalidPaperId):
        spellings.append(parse_arxiv_id(raw).base)
    return spellings


def is_arxiv_id(raw: str) -> bool:
    try:
        parse_arxiv_id(raw)
    except InvalidPaperId:
        return False
    return True


def title_key(title: str) -> str:
    """Normalise a title so that spellings of the same title compare equal."""
    if title.isascii():  # NFKD and combining marks change nothing; casefold is lower (fast path)
        return " ".join(_WORD.findall(title.lower()))
    text = unicodedata.normalize("NFKD", title).casefold()
    text = "".join(ch for ch in text if not unicodedata.combining(ch))
    return " ".join(_WORD.findall(text))


def synthetic_id(title: str) -> str:
    """A stable id for a paper that arrives without one, derived from its normalised title."""
    digest = hashlib.sha256(title_key(title).encode()).hexdigest()[:16]
    return SYNTHETIC_PREFIX + digest


def is_synthetic(paper_id: str) -> bool:
    return paper_id.startswith(SYNTHETIC_PREFIX)


def canonical_id(raw: str | None, title: str) -> tuple[str, int | None]:
    """The id a record is stored under, and the arXiv version it names (if any).

    An id must be an arXiv id (in any accepted spelling; InvalidPaperId otherwise); no id gives
    the title-derived synthetic id, so the same title from two sources lands on one record.
    """
    if raw is not None and raw.strip():
        parsed = parse_arxiv_id(raw)
        return parsed.base, parsed.version
    return synthetic_id(title), None


def month_of_arxiv_id(raw: str) -> date | None:
    """The first day of the month an arXiv id was assigned (``2401.12345``: 2024-01-01;
    ``hep-th/9901001``: 1999-01-01), or None for another id. arXiv numbers papers by the month
    of their first version, so this dates a paper whose source gave no date."""
    try:
        parsed = parse_arxiv_id(raw)
    except InvalidPaperId:
        return None
    digits = parsed.base.rsplit("/", 1)[-1][:4]
    year, month = int(digits[:2]), int(digits[2:4])
    # Old-style ids began in 1991 (91xx); new-style ones in 2007 and always mean 20xx.
    century = 1900 if "/" in parsed.base and year >= 91 else 2000
    return date(century + year, month, 1)
