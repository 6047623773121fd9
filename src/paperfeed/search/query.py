"""Parse a search box string once into a structure every backend compiles from.

Syntax: plain words, ``"quoted phrases"``, ``-word`` / ``-"phrase"`` exclusions, ``author:``,
``cat:``, ``title:`` (each takes a word or a quoted phrase), ``year:2024``,
``year:2023..2025``, ``date:2025-01-01..2025-03-01`` (either end may be left open),
``has:code``, and arXiv ids or URLs anywhere in the query. Parsing never fails: anything that
is not valid syntax (an unbalanced quote, a stray colon, an unknown field, a bad year) is read
as plain text, because a search box must answer whatever is typed into it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date

from paperfeed.ingest.ids import InvalidPaperId, parse_arxiv_id

# One token: an optional '-', an optional 'field:', then a quoted value or a bare run of
# non-space characters. A quote that is never closed is not matched here and is dropped below.
_TOKEN = re.compile(
    r'(?P<neg>-)?(?:(?P<field>[A-Za-z]+):)?(?:"(?P<quoted>[^"]*)"|(?P<bare>[^\s"]+))'
)
_WORD = re.compile(r"[^\W_]+")  # letters and digits: how unicode61 splits text
_YEAR = re.compile(r"^(\d{4})?(?:\.\.(\d{4})?)?$")
_DATE = re.compile(r"^(\d{4}-\d{2}-\d{2})?(?:\.\.(\d{4}-\d{2}-\d{2})?)?$")
_ARXIV_HINT = re.compile(r"^(?:arxiv:|https?://|\d{4}\.\d{4,5}|[a-z-]+(?:\.[A-Z]{2})?/\d{7})", re.I)
# An arXiv address typed without its scheme ("arxiv.org/abs/2401.12345v1"): the id after it.
_ARXIV_HOST = re.compile(
    r"^(?:https?://)?(?:www\.|export\.)?arxiv\.org/(?:abs|pdf|html)/(.+)$", re.I
)
# A DOI, bare or as an address ("doi:", "https://doi.org/"); arXiv's own DOIs name an arXiv id.
_DOI = re.compile(r"^(?:doi:|(?:https?://)?(?:dx\.)?doi\.org/)?(10\.\d{4,9}/\S+)$", re.I)
_ARXIV_DOI = re.compile(r"^10\.48550/arxiv\.(.+)$", re.I)

FIELDS = frozenset({"author", "cat", "title", "year", "date", "has"})

# English function words: a question ("how do I make inference faster") holds them, a paper
# is not about them: they are neither required, scored nor highlighted (the dense side still
# reads the whole question). Kept short: "not", "all" and "can" carry meaning in titles.
_STOPWORD_TEXT = """a an the and or of to in on at by for from with as is are was were be been being
    do does did doing i me my we our you your it its this that these those there here
    how what which who whom why when where could should would will shall may might
    must has have had having am if then than so such into onto about over under via
    any some make makes made get gets got use using want need best way ways"""
STOPWORDS = frozenset(_STOPWORD_TEXT.split())


def is_stopword(word: str) -> bool:
    return word.casefold() in STOPWORDS


@dataclass(frozen=True, slots=True)
class DateRange:
    """Inclusive bounds on a paper's date; None leaves that end open."""

    start: date | None = None
    end: date | None = None


@dataclass(frozen=True, slots=True)
class ParsedQuery:
    """What the user asked for, independent of any backend."""

    raw: str
    terms: tuple[str, ...] = ()
    phrases: tuple[str, ...] = ()
    excluded: tuple[str, ...] = ()  # words or phrases (space-joined words) to exclude
    title: tuple[str, ...] = ()  # words or phrases that must be in the title
    authors: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()
    dates: DateRange | None = None
    has_code: bool = False
    arxiv_ids: tuple[str, ...] = ()
    dois: tuple[str, ...] = ()  # DOIs named in the query (papers that store them are pinned)

    @property
    def text(self) -> str:
        """The free text of the query (words, phrases, title words) for dense retrieval."""
        return " ".join((*self.title, *self.phrases, *self.terms))

    @property
    def has_text(self) -> bool:
        return bool(self.terms or self.phrases or self.title)

    @property
    def has_filters(self) -> bool:
        return bool(self.excluded or self.authors or self.categories or self.dates or self.has_code)


@dataclass(slots=True)
class _Builder:
    terms: list[str] = field(default_factory=list)
    phrases: list[str] = field(default_factory=list)
    excluded: list[str] = field(default_factory=list)
    title: list[str] = field(default_factory=list)
    authors: list[str] = field(default_factory=list)
    categories: list[str] = field(default_factory=list)
    dates: DateRange | None = None
    has_code: bool = False
    arxiv_ids: list[str] = field(default_factory=list)
    dois: list[str] = field(default_factory=list)

    def add_text(self, value: str) -> None:
        """Plain text: its words become terms (punctuation such as ':' is dropped)."""
        self.terms.extend(_WORD.findall(value))


def words(text: str) -> list[str]:
    """The words of ``text`` as the lexical index sees them (letters and digits)."""
    return _WORD.findall(text)


def parse_query(raw: str) -> ParsedQuery:
    """Parse ``raw``; never raises, whatever the input."""
    builder = _Builder()
    for match in _TOKEN.finditer(raw.replace("\x00", " ")):
        _take(builder, match)
    return ParsedQuery(
        raw=raw,
        terms=tuple(builder.terms),
        phrases=tuple(builder.phrases),
        excluded=tuple(builder.excluded),
        title=tuple(builder.title),
        authors=tuple(builder.authors),
        categories=tuple(builder.categories),
        dates=builder.dates,
        has_code=builder.has_code,
        arxiv_ids=tuple(dict.fromkeys(builder.arxiv_ids)),
        dois=tuple(dict.fromkeys(builder.dois)),
    )


def _take(builder: _Builder, match: re.Match[str]) -> None:
    neg, name = bool(match.group("neg")), (match.group("field") or "").lower()
    quoted, bare = match.group("quoted"), match.group("bare")
    value = quoted if quoted is not None else bare
    if bare is not None and not neg and _take_address(builder, match.group(0)):
        return  # checked first: "arXiv:…", "doi:…" and "https://…" look like fields
    if name and not neg and _take_field(builder, name, value, quoted is not None):
        return
    if name in FIELDS and neg:
        # "-author:x" is no filter we support; excluding the word x is the nearest meaning.
        name = ""
    elif name and quoted is None:
        # Not a field we know (or a misused one): the whole token is text, e.g. "BERT:".
        value, name = match.group(0).lstrip("-"), ""
    elif name and not neg:
        builder.add_text(name)  # e.g. foo:"bar baz" -> the word foo plus the phrase
    _take_plain(builder, value, neg, quoted is not None)


def _take_plain(builder: _Builder, value: str, neg: bool, quoted: bool) -> None:
    found = words(value)
    if not found:
        return
    if neg:
        # "-word" and -"a phrase" exclude; a lone '-' before punctuation excludes nothing.
        builder.excluded.append(" ".join(found))
    elif quoted and len(found) > 1:
        builder.phrases.append(" ".join(found))
    else:
        builder.terms.extend(found)


def _take_address(builder: _Builder, value: str) -> bool:
    """An arXiv id or address, or a DOI, in any of their usual forms."""
    host = _ARXIV_HOST.match(value)
    if host:
        return _take_arxiv_id(builder, "arXiv:" + host.group(1))
    doi = _DOI.match(value)
    if doi:
        arxiv = _ARXIV_DOI.match(doi.group(1))
        if arxiv and _take_arxiv_id(builder, "arXiv:" + arxiv.group(1)):
            return True
        builder.dois.append(doi.group(1).rstrip(".,;"))
        return True
    return _take_arxiv_id(builder, value)


def _take_arxiv_id(builder: _Builder, value: str) -> bool:
    if not _ARXIV_HINT.match(value):
        return False
    try:
        builder.arxiv_ids.append(parse_arxiv_id(value).base)
    except InvalidPaperId:
        return False
    return True


def _take_field(builder: _Builder, name: str, value: str, quoted: bool) -> bool:
    """Apply ``name:value``; False when it is not valid, so the caller reads it as text."""
    value = value.strip()
    if name == "author" and words(value):
        builder.authors.append(" ".join(value.split()))
    elif name == "cat" and re.fullmatch(r"[A-Za-z][\w.-]*", value):
        builder.categories.append(value)
    elif name == "title" and words(value):
        builder.title.append(" ".join(words(value)))
    elif name == "has" and value.lower() == "code":
        builder.has_code = True
    elif name in ("year", "date") and not quoted:
        dates = parse_year_range(value) if name == "year" else parse_date_range(value)
        if dates is None:
            return False
        builder.dates = dates
    else:
        return False
    return True


def parse_year_range(value: str) -> DateRange | None:
    """``2024``, ``2023..2025``, ``2023..`` or ``..2025``; None when not valid."""
    match = _YEAR.match(value)
    if not match or not value.strip(".") or (".." not in value and match.group(2)):
        return None
    first, last = match.group(1), match.group(2) if ".." in value else match.group(1)
    if first and last and first > last:
        first, last = last, first  # "2025..2023" means the same years as "2023..2025"
    try:
        start = date(int(first), 1, 1) if first else None
        end = date(int(last), 12, 31) if last else None
    except ValueError:
        return None
    return DateRange(start, end)


def parse_date_range(value: str) -> DateRange | None:
    """``2025-01-01``, ``2025-01-01..2025-03-01`` or an open-ended range; None when not valid."""
    match = _DATE.match(value)
    if not match or not value.strip("."):
        return None
    first, last = match.group(1), match.group(2) if ".." in value else match.group(1)
    try:
        start = date.fromisoformat(first) if first else None
        end = date.fromisoformat(last) if last else None
    except ValueError:
        return None
    return _ordered(start, end)


def _ordered(start: date | None, end: date | None) -> DateRange:
    # A reversed range is what the user meant the other way round.
    if start and end and start > end:
        start, end = end, start
    return DateRange(start, end)
