"""The text of a daily-papers page, as a person copies it out of a browser.

The page is paragraphs separated by blank lines: first a header (the site's boilerplate, then an
optional date line such as "Mar 14"), then one block per paper, a title paragraph followed by
its abstract paragraph. The rule that tells them apart:

- header: the leading one-line paragraphs up to and including the first date line (before any
  paragraph too long for a title, which would be an abstract), or, on a page without a date
  line there, the leading paragraphs that are known boilerplate ("Subscribe", ...);
- a date line later on starts a new day: the papers under it were featured that day;
- a title is a paragraph of one line of at most MAX_TITLE characters; the paragraph after it is
  its abstract, whatever its length. A paragraph where a title should be that is not one is
  reported (RecordError) and skipped, so one stray paragraph costs one record, not the page.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from typing import BinaryIO

from paperfeed.domain import PaperRecord, RecordError
from paperfeed.ingest.formats import IngestError, Item, ParseOptions
from paperfeed.ingest.formats.fields import MONTHS, read_whole

MAX_TITLE = 300
MAX_PAGE_BYTES = 64 * 1024 * 1024  # a page is read whole; a bigger one is not a page
BOILERPLATE = frozenset(
    line.casefold()
    for line in (
        "new",
        "Get trending papers in your email inbox!",
        "Subscribe",
        "byAK and the research community",
        "by AK and the research community",
        "Daily Papers",
        "Trending Papers",
    )
)
_DATE_LINE = re.compile(r"^([A-Za-z]{3,9})\.?\s+(\d{1,2})(?:,\s*(\d{4}))?$")


@dataclass(slots=True)
class Paragraph:
    line: int  # 1-based number of its first line
    lines: list[str]

    @property
    def text(self) -> str:
        return "\n".join(self.lines)


@dataclass(slots=True)
class DateLine:
    """A "Mar 14" line: the month and day, and the year when the page gives one."""

    month: int
    day: int
    year: int | None

    def resolve(self, today: date) -> date | None:
        """The day meant: the latest such month/day not after ``today`` when no year is given."""
        years = [self.year] if self.year else range(today.year, today.year - 8, -1)
        for year in years:
            try:
                found = date(year, self.month, self.day)
            except ValueError:  # Feb 29 outside a leap year, or a day past the month's end
                continue
            if self.year or found <= today:
                return found
        return None


def parse(stream: BinaryIO, name: str, options: ParseOptions) -> Iterator[Item]:
    """Yield one PaperRecord per title + abstract block of the page."""
    paragraphs = list(paragraphs_of(read_text(stream, name)))
    length, header_date = _header(paragraphs)
    today = options.today or date.today()
    featured = options.featured_day or (header_date.resolve(today) if header_date else None)
    body = paragraphs[length:]
    yield from _blocks(body, name, options, featured, today)


def _blocks(
    body: list[Paragraph], name: str, options: ParseOptions, featured: date | None, today: date
) -> Iterator[Item]:
    title: Paragraph | None = None
    for paragraph in body:
        day = date_line(paragraph)
        if title is None and day is not None:
            featured = options.featured_day or day.resolve(today)
        elif title is None and is_title(paragraph):
            title = paragraph
        elif title is None:
            yield RecordError(f"{name} line {paragraph.line}", _not_a_title(paragraph))
        elif day is not None:
            yield RecordError(f"{name} line {title.line}", "title has no abstract")
            title, featured = None, options.featured_day or day.resolve(today)
        else:
            yield _record(title, paragraph, name, featured)
            title = None
    if title is not None:
        yield RecordError(f"{name} line {title.line}", "title has no abstract (end of page)")


def _record(title: Paragraph, abstract: Paragraph, name: str, day: date | None) -> PaperRecord:
    return PaperRecord(
        title=title.text,
        abstract=abstract.text,
        featured_day=day,
        location=f"{name} line {title.line}",
    )


def _not_a_title(paragraph: Paragraph) -> str:
    size = len(paragraph.text)
    return f"expected a title line, found a paragraph of {len(paragraph.lines)} lines, {size} chars"


def read_text(stream: BinaryIO, name: str) -> str:
    """The whole input as text: UTF-8 (a BOM is allowed), else the input is not a page."""
    data = read_whole(stream, name, MAX_PAGE_BYTES)
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise IngestError(f"{name}: not UTF-8 text (byte {error.start})") from None


def paragraphs_of(text: str) -> Iterator[Paragraph]:
    """Runs of non-blank lines, with the number of each run's first line."""
    current: Paragraph | None = None
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line:
            if current is not None:
                yield current
            current = None
        elif current is None:
            current = Paragraph(number, [line])
        else:
            current.lines.append(line)
    if current is not None:
        yield current


def date_line(paragraph: Paragraph) -> DateLine | None:
    """The date a one-line paragraph such as "Mar 14" or "Mar 14, 2025" names, if it is one."""
    if len(paragraph.lines) != 1:
        return None
    match = _DATE_LINE.match(paragraph.lines[0])
    month = MONTHS.get(match[1].lower()) if match else None
    if match is None or month is None or not 1 <= int(match[2]) <= 31:
        return None
    return DateLine(month, int(match[2]), int(match[3]) if match[3] else None)


def is_title(paragraph: Paragraph) -> bool:
    """A title is one line, not too long for a title."""
    return len(paragraph.lines) == 1 and len(paragraph.lines[0]) <= MAX_TITLE


def _header(paragraphs: list[Paragraph]) -> tuple[int, DateLine | None]:
    """How many leading paragraphs are the page's header, and the header's date line."""
    for index, paragraph in enumerate(paragraphs):
        day = date_line(paragraph)
        if day is not None:
            return index + 1, day
        # A paragraph too long for a title means papers have started: there is no date line.
        if not is_title(paragraph):
            break
    count = 0
    while count < len(paragraphs) and _is_boilerplate(paragraphs[count]):
        count += 1
    return count, None


def _is_boilerplate(paragraph: Paragraph) -> bool:
    return len(paragraph.lines) == 1 and paragraph.lines[0].casefold() in BOILERPLATE


def looks_like_page(text: str) -> bool:
    """Whether ``text`` reads as a papers page: after the header, a title then a longer abstract."""
    paragraphs = list(paragraphs_of(text))
    body = paragraphs[_header(paragraphs)[0] :]
    if len(body) < 2 or not is_title(body[0]):
        return False
    return len(body[1].text) > len(body[0].text) and len(body[1].text) >= 80
