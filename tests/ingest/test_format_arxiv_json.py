"""The arXiv metadata snapshot (JSON lines), the bulk ingest path."""

from __future__ import annotations

import gzip
import io
from datetime import date

import orjson
import pytest

from paperfeed.domain import Link, PaperRecord, RecordError, Version
from paperfeed.ingest.formats import IngestError, Item, ParseOptions
from paperfeed.ingest.formats.arxiv_json import parse
from paperfeed.ingest.normalise import collapse
from tests.conftest import ARXIV_DAILY, TEST_DATA

SAMPLE = TEST_DATA / "formats" / "arxiv-snapshot-sample.jsonl"
SAMPLE_LINES = SAMPLE.read_bytes().splitlines()


def run(data: bytes, name: str = "snap.json") -> list[Item]:
    return list(parse(io.BytesIO(data), name, ParseOptions()))


def line_with(**changes: object) -> bytes:
    """The real 0704.0001 record with some fields changed (None removes a field)."""
    obj = orjson.loads(SAMPLE_LINES[0])
    for key, value in changes.items():
        if value is None:
            obj.pop(key, None)
        else:
            obj[key] = value
    return orjson.dumps(obj)


def test_a_real_snapshot_record_maps_every_field() -> None:
    (record,) = run(SAMPLE_LINES[0] + b"\n")
    assert isinstance(record, PaperRecord)
    assert record.id == "0704.0001"
    assert record.title.startswith("Calculation of prompt diphoton production")
    assert record.authors == ["C. Balázs", "E. L. Berger", "P. M. Nadolsky", "C. -P. Yuan"]
    assert record.categories == ["hep-ph"]
    assert record.published == date(2007, 4, 2)
    assert record.updated == date(2008, 11, 13)
    assert record.versions == [Version(1, date(2007, 4, 2)), Version(2, date(2007, 7, 24))]
    assert record.doi == "10.1103/PhysRevD.76.013009"
    assert record.journal_ref == "Phys.Rev.D76:013009,2007"
    assert record.comment == "37 pages, 15 figures; published version"
    assert record.links == [
        Link("abs", "https://arxiv.org/abs/0704.0001"),
        Link("pdf", "https://arxiv.org/pdf/0704.0001"),
        Link("doi", "https://doi.org/10.1103/PhysRevD.76.013009"),
    ]
    assert record.submitter is None  # arXiv's uploader is not a feed submitter
    assert record.location == "snap.json line 1"


def test_sample_titles_and_abstracts_match_the_real_listings() -> None:
    records = [r for r in run(SAMPLE.read_bytes()) if isinstance(r, PaperRecord)]
    assert len(records) == len(SAMPLE_LINES) == 10
    wanted = {r.id: r for r in records}
    found = {}
    with gzip.open(ARXIV_DAILY, "rb") as lines:
        for line in lines:
            row = orjson.loads(line)
            if row["id"] in wanted:
                found[row["id"]] = row
            if len(found) == len(wanted) - 1:  # all but 0704.0001, which predates the listings
                break
    for paper_id, row in found.items():
        record = wanted[paper_id]
        assert collapse(record.title) == row["title"]
        assert collapse(record.abstract) == row["abstract"]
        assert record.authors == row["authors"]
        # The sample was written with the snapshot's space-separated categories.
        assert record.categories == " ".join(row["categories"]).split()


def test_authors_string_is_used_without_authors_parsed_and_loses_its_latex() -> None:
    (record,) = run(line_with(authors_parsed=None))
    assert isinstance(record, PaperRecord)
    assert record.authors == ["C. Balázs", "E. L. Berger", "P. M. Nadolsky", "C.-P. Yuan"]


def test_authors_and_categories_may_be_lists() -> None:
    record = run(SAMPLE_LINES[-1])[0]
    assert isinstance(record, PaperRecord)
    assert isinstance(orjson.loads(SAMPLE_LINES[-1])["categories"], list)
    assert record.categories[0].startswith("cs.")
    assert record.authors and all(" " in name for name in record.authors)


def test_bad_lines_are_reported_and_parsing_goes_on() -> None:
    data = b"\n".join(
        [
            SAMPLE_LINES[1],
            b'{"id": "2401.00001", "title": ',
            line_with(title=7),
            line_with(versions="v1"),
            line_with(authors_parsed=[["Only"], 3]),
            b"",
            b"[1, 2]",
            SAMPLE_LINES[2],
        ]
    )
    items = run(data)
    kinds = [type(item).__name__ for item in items]
    assert kinds == ["PaperRecord"] + ["RecordError"] * 5 + ["PaperRecord"]
    reasons = {item.location: item.reason for item in items if isinstance(item, RecordError)}
    assert reasons["snap.json line 2"].startswith("invalid JSON")
    assert reasons["snap.json line 3"] == "title is not a string (int)"
    assert reasons["snap.json line 4"] == "versions is not a list"
    assert "authors_parsed" in reasons["snap.json line 5"]
    assert reasons["snap.json line 7"] == "not a JSON object but an array"
    assert items[-1].location == "snap.json line 8"


def test_missing_title_is_a_record_error() -> None:
    (error,) = run(line_with(title=""))
    assert error == RecordError("snap.json line 1", "missing title")


def test_input_that_is_not_json_lines_is_an_ingest_error() -> None:
    with pytest.raises(IngestError, match=r"^snap\.json: not JSON lines"):
        run(b"<?xml version='1.0'?><feed/>\n")


class CountingStream(io.BytesIO):
    """Records how far the parser has read, to show it streams."""

    def __init__(self, data: bytes) -> None:
        super().__init__(data)
        self.high_water = 0

    def readline(self, size: int | None = -1) -> bytes:
        line = super().readline(size)
        self.high_water = self.tell()
        return line


def test_parsing_streams_line_by_line() -> None:
    data = SAMPLE.read_bytes() * 200
    stream = CountingStream(data)
    items = parse(stream, "snap.json", ParseOptions())
    next(items)
    assert stream.high_water <= len(SAMPLE_LINES[0]) + 1
