"""JSON lines and CSV: the flat record shape (title, abstract and optional fields)."""

from __future__ import annotations

import csv
import gzip
import io
from datetime import date
from typing import Any

import orjson
import pytest

from paperfeed.domain import Link, PaperRecord, RecordError
from paperfeed.ingest.formats import IngestError, Item, ParseOptions, jsonl
from paperfeed.ingest.formats import csv as csv_format
from tests.conftest import ARXIV_DAILY, TEST_DATA, arxiv_rows

CSV_SAMPLE = TEST_DATA / "formats" / "papers.csv"


def run_jsonl(data: bytes, name: str = "p.jsonl") -> list[Item]:
    return list(jsonl.parse(io.BytesIO(data), name, ParseOptions()))


def run_csv(data: bytes | str, name: str = "p.csv") -> list[Item]:
    raw = data.encode() if isinstance(data, str) else data
    return list(csv_format.parse(io.BytesIO(raw), name, ParseOptions()))


def records(items: list[Item]) -> list[PaperRecord]:
    assert all(isinstance(item, PaperRecord) for item in items), items
    return [item for item in items if isinstance(item, PaperRecord)]


def test_the_arxiv_daily_listings_parse_as_jsonl_with_listed_as_featured_day() -> None:
    count, first, last = 0, None, None
    with gzip.open(ARXIV_DAILY, "rb") as stream:
        for item in jsonl.parse(stream, "daily.jsonl.gz", ParseOptions()):
            assert isinstance(item, PaperRecord), item
            count, first, last = count + 1, first or item, item
    assert count == 2_000  # the committed slice of the listings
    assert first is not None and last is not None
    row = arxiv_rows(1)[0]
    assert (first.id, first.title, first.abstract) == (row["id"], row["title"], row["abstract"])
    assert first.authors == row["authors"] and first.categories == row["categories"]
    assert first.featured_day == date.fromisoformat(row["listed"]) == date(2025, 3, 18)
    assert last.featured_day == date(2025, 3, 28)
    assert first.links[:2] == [
        Link("abs", f"https://arxiv.org/abs/{row['id']}"),
        Link("pdf", f"https://arxiv.org/pdf/{row['id']}"),
    ]


def test_jsonl_optional_fields_and_aliases() -> None:
    row = arxiv_rows(1)[0]
    line = {
        "title": row["title"],
        "summary": row["abstract"],
        "url": "https://arxiv.org/abs/2503.11731v2",
        "authors": "Xianming Zeng, Sicong Du and Qifeng Chen",
        "date": "2025-03-14",
        "updated": "Mon, 17 Mar 2025 10:00:00 GMT",
        "categories": "cs.CV, cs.RO",
        "doi": "10.48550/arXiv.2503.11731",
        "upvotes": 12,
        "submitter": "akhaliq",
        "code_url": "https://github.com/example/gs-sim",
        "project_url": "https://example.org/gs-sim",
    }
    (record,) = records(run_jsonl(orjson.dumps(line)))
    assert record.id == "https://arxiv.org/abs/2503.11731v2"  # normalise makes it 2503.11731
    assert record.abstract == row["abstract"]
    assert record.authors == ["Xianming Zeng", "Sicong Du", "Qifeng Chen"]
    assert (record.published, record.updated) == (date(2025, 3, 14), date(2025, 3, 17))
    assert record.categories == ["cs.CV", "cs.RO"]
    assert (record.upvotes, record.submitter) == (12, "akhaliq")
    assert [link.kind for link in record.links] == ["abs", "pdf", "doi", "code", "project"]


def test_a_non_arxiv_url_is_the_abs_link_and_gives_no_id() -> None:
    line = {"title": "A Paper", "abstract": "Text.", "url": "https://example.org/paper"}
    (record,) = records(run_jsonl(orjson.dumps(line)))
    assert record.id is None
    assert record.links == [Link("abs", "https://example.org/paper")]


def test_jsonl_errors_name_the_line_and_parsing_goes_on() -> None:
    rows = [orjson.dumps(r) for r in arxiv_rows(2)]
    data = b"\n".join(
        [
            rows[0],
            b"",
            b'{"title": "x", "abstract": 3}',
            b'{"abstract": "no title"}',
            b'{"title": "Bad date", "date": "someday"}',
            b'{"title": "Bad upvotes", "upvotes": -1}',
            b"{not json",
            rows[1],
        ]
    )
    items = run_jsonl(data)
    assert isinstance(items[0], PaperRecord) and isinstance(items[-1], PaperRecord)
    assert items[1:-1] == [
        RecordError("p.jsonl line 3", "abstract is not a string (int)"),
        RecordError("p.jsonl line 4", "missing title"),
        RecordError("p.jsonl line 5", "date is not a date: 'someday'"),
        RecordError("p.jsonl line 6", "upvotes is not a non-negative whole number: '-1'"),
        RecordError("p.jsonl line 7", items[5].reason),
    ]
    assert items[5].reason.startswith("invalid JSON")
    assert items[-1].location == "p.jsonl line 8"


def test_jsonl_that_is_not_json_is_an_ingest_error() -> None:
    with pytest.raises(IngestError, match=r"^p\.jsonl: not JSON lines"):
        run_jsonl(b"title,abstract\nA,B\n")


def test_csv_sample_from_real_listings() -> None:
    found = records(run_csv(CSV_SAMPLE.read_bytes()))
    rows = arxiv_rows(2)
    assert len(found) == 5
    assert [r.title for r in found[:2]] == [row["title"] for row in rows]
    assert found[1].abstract == rows[1]["abstract"]
    assert found[1].authors == rows[1]["authors"]  # "; "-separated in the file
    assert found[1].categories == ["cs.CV", "cs.AI"]
    assert found[0].id == "2503.11731"
    assert found[0].featured_day == date(2025, 3, 18)
    assert found[2].location == "p.csv line 4"


def test_csv_with_bom_tabs_and_and_separated_authors() -> None:
    text = (
        "\ufeffTitle\tAbstract\tAuthors\nLandmark Attention\tWe present.\tSmith, John and Doe, J.\n"
    )
    (record,) = records(run_csv(text.encode("utf-8")))
    assert record.title == "Landmark Attention"
    assert record.authors == ["Smith, John", "Doe, J."]


def test_csv_row_errors_are_reported_with_their_line() -> None:
    text = 'title,abstract\n"Multi\nline title",ok\n,no title\nA,B,extra\n"ok","fine"\n'
    items = run_csv(text)
    assert isinstance(items[0], PaperRecord) and items[0].title == "Multi\nline title"
    assert items[1] == RecordError("p.csv line 4", "missing title")
    assert items[2] == RecordError("p.csv line 5", "3 cells but 2 header columns")
    assert isinstance(items[3], PaperRecord) and items[3].location == "p.csv line 6"


def test_a_quote_left_open_or_text_after_a_quote_is_a_row_error() -> None:
    items = run_csv('title,abstract\nGood,row\n"A"fter,x\n"unterminated,abc\n')
    assert isinstance(items[0], PaperRecord)
    assert items[1] == RecordError("p.csv line 3", "invalid CSV: ',' expected after '\"'")
    assert items[2] == RecordError("p.csv line 4", "invalid CSV: unexpected end of data")
    assert len(items) == 3


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"id,abstract\n1,x\n", r"^p\.csv: CSV needs a header row naming a 'title' column"),
        (b"", r"^p\.csv: CSV needs a header row"),
        (b"title,abstract\nA,\xff\xfe\n", r"^p\.csv: not UTF-8"),
    ],
)
def test_unreadable_csv_is_an_ingest_error(body: bytes, message: str) -> None:
    with pytest.raises(IngestError, match=message):
        run_csv(body)


def _fields(record: PaperRecord) -> tuple[Any, ...]:
    return (
        record.id,
        record.title,
        record.abstract,
        record.authors,
        record.categories,
        record.featured_day,
    )


def test_round_trip_through_jsonl_and_csv() -> None:
    originals = records(run_jsonl(b"\n".join(orjson.dumps(r) for r in arxiv_rows(40))))
    as_jsonl = b"\n".join(
        orjson.dumps(
            {
                "id": r.id,
                "title": r.title,
                "abstract": r.abstract,
                "authors": r.authors,
                "categories": r.categories,
                "listed": r.featured_day,
            }
        )
        for r in originals
    )
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(["id", "title", "abstract", "authors", "categories", "featured_day"])
    for r in originals:
        row = [r.id, r.title, r.abstract, "; ".join(r.authors), " ".join(r.categories)]
        writer.writerow([*row, r.featured_day])
    expected = [_fields(r) for r in originals]
    assert [_fields(r) for r in records(run_jsonl(as_jsonl))] == expected
    assert [_fields(r) for r in records(run_csv(buffer.getvalue()))] == expected
