"""The seed page format: header, optional date line, then title + abstract blocks."""

from __future__ import annotations

import io
from datetime import date

import pytest

from paperfeed.domain import PaperRecord, RecordError
from paperfeed.ingest.formats import IngestError, Item, ParseOptions
from paperfeed.ingest.formats.page import looks_like_page, parse
from tests.conftest import SEED_PAGE

SEED_TEXT = SEED_PAGE.read_text(encoding="utf-8")
SEED_LINES = SEED_TEXT.split("\n")
HEADER = "\n\n".join(SEED_LINES[0:7:2]) + "\n\n"  # the seed page's four header lines


def run(text: str | bytes, **options: date) -> list[Item]:
    data = text.encode() if isinstance(text, str) else text
    return list(parse(io.BytesIO(data), "page.txt", ParseOptions(**options)))


def papers(items: list[Item]) -> list[PaperRecord]:
    assert all(isinstance(item, PaperRecord) for item in items), items
    return [item for item in items if isinstance(item, PaperRecord)]


def seed_blocks(count: int) -> str:
    """The first ``count`` title + abstract blocks of the seed page, as the page has them."""
    start = SEED_LINES.index("Dense Object Grounding in 3D Scenes")
    return "\n".join(SEED_LINES[start : start + 4 * count - 1])


def test_seed_page_gives_exactly_58_papers_with_verbatim_titles_and_abstracts() -> None:
    found = papers(run(SEED_TEXT, today=date(2026, 1, 1)))
    assert len(found) == 58
    for record in found:
        line = int(record.location.rsplit(" ", 1)[1])
        assert SEED_LINES[line - 1] == record.title
        assert SEED_LINES[line + 1] == record.abstract  # the title, a blank line, the abstract
    assert found[0].title == "Dense Object Grounding in 3D Scenes"
    assert found[0].abstract.startswith("Localizing objects in 3D scenes according to")
    assert found[1].title == (
        "Selective Attention: Enhancing Transformer through Principled Context Control"
    )
    assert found[-1].title == (
        "World Model on Million-Length Video And Language With RingAttention"
    )
    assert found[-1].abstract.endswith("and broader capabilities.")
    assert "Get trending papers in your email inbox!" not in {r.title for r in found}


def test_date_line_without_year_is_the_latest_such_day_not_after_today() -> None:
    assert {r.featured_day for r in papers(run(SEED_TEXT, today=date(2026, 1, 1)))} == {
        date(2025, 3, 14)
    }
    on_the_day = papers(run(SEED_TEXT, today=date(2025, 3, 14)))
    assert on_the_day[0].featured_day == date(2025, 3, 14)
    day_before = papers(run(SEED_TEXT, today=date(2025, 3, 13)))
    assert day_before[0].featured_day == date(2024, 3, 14)


def test_leap_day_goes_back_to_the_last_leap_year() -> None:
    page = HEADER + "Feb 29\n\n" + seed_blocks(1)
    assert papers(run(page, today=date(2027, 6, 1)))[0].featured_day == date(2024, 2, 29)


def test_date_line_with_a_year_is_taken_as_written() -> None:
    page = HEADER + "Mar 14, 2023\n\n" + seed_blocks(2)
    found = papers(run(page, today=date(2026, 1, 1)))
    assert [r.featured_day for r in found] == [date(2023, 3, 14)] * 2


def test_date_option_overrides_the_page() -> None:
    found = papers(run(SEED_TEXT, featured_day=date(2025, 1, 2), today=date(2026, 1, 1)))
    assert {r.featured_day for r in found} == {date(2025, 1, 2)}


def test_page_without_date_line_or_header_still_parses() -> None:
    without_date = SEED_TEXT.replace("\nMar 14\n", "\n", 1)
    found = papers(run(without_date))
    assert len(found) == 58
    assert {r.featured_day for r in found} == {None}
    assert len(papers(run(seed_blocks(3)))) == 3


def test_a_later_date_line_starts_a_new_day() -> None:
    page = HEADER + "Mar 14\n\n" + seed_blocks(2) + "\n\nMar 13\n\n" + _third_block()
    found = papers(run(page, today=date(2025, 6, 1)))
    assert [r.featured_day for r in found] == [date(2025, 3, 14)] * 2 + [date(2025, 3, 13)]


def _third_block() -> str:
    start = SEED_LINES.index("Dense Object Grounding in 3D Scenes") + 8
    return "\n".join(SEED_LINES[start : start + 3])


def test_a_stray_paragraph_is_reported_with_its_line_and_parsing_goes_on() -> None:
    stray = "This paragraph runs over\ntwo lines where a title should be."
    page = HEADER + "Mar 14\n\n" + seed_blocks(1) + "\n\n" + stray + "\n\n" + _third_block()
    items = run(page, today=date(2026, 1, 1))
    assert [type(i) for i in items] == [PaperRecord, RecordError, PaperRecord]
    error = items[1]
    assert isinstance(error, RecordError)
    assert error.location == "page.txt line 15"
    assert "expected a title" in error.reason


def test_title_without_abstract_at_the_end_is_an_error() -> None:
    items = run(HEADER + seed_blocks(1) + "\n\nA Title With Nothing After It\n")
    assert isinstance(items[-1], RecordError)
    assert "no abstract" in items[-1].reason
    assert items[-1].location == "page.txt line 13"


def test_not_utf8_is_an_ingest_error() -> None:
    with pytest.raises(IngestError, match=r"^page\.txt: not UTF-8"):
        run(b"Title\n\n\xff\xfe abstract")


def test_looks_like_page() -> None:
    assert looks_like_page(SEED_TEXT)
    assert looks_like_page(seed_blocks(1))
    assert not looks_like_page("just one line")
    assert not looks_like_page("title,abstract\nA,B\n")
