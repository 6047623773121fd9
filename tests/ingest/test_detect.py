"""Format detection from the first bytes of an input and its name."""

from __future__ import annotations

import gzip
from pathlib import Path

import orjson
import pytest

from paperfeed.domain import PaperRecord
from paperfeed.ingest.formats import IngestError, ParseOptions
from paperfeed.ingest.formats.detect import detect_format
from paperfeed.ingest.sources import SNIFF_BYTES, file_source
from tests.conftest import ARXIV_DAILY, HF_DAILY, SEED_PAGE, TEST_DATA

FORMATS = TEST_DATA / "formats"
ATOM = b"""<?xml version="1.0" encoding="UTF-8"?>
<feed xmlns="http://www.w3.org/2005/Atom" xmlns:arxiv="http://arxiv.org/schemas/atom">
  <title type="html">ArXiv Query: search_query=cat:cs.CL</title>
"""
OAI = b"""<?xml version="1.0" encoding="UTF-8"?>
<OAI-PMH xmlns="http://www.openarchives.org/OAI/2.0/">
<responseDate>2025-03-14T10:00:00Z</responseDate>
"""


def head(path: Path) -> bytes:
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rb") as stream:
        return bytes(stream.read(SNIFF_BYTES))


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        (SEED_PAGE, "page"),
        (ARXIV_DAILY, "jsonl"),
        (HF_DAILY, "hf-daily"),
        (FORMATS / "hf-daily-papers-api.json", "hf-daily"),
        (FORMATS / "hf-daily-keyed.json", "hf-daily"),
        (FORMATS / "arxiv-snapshot-sample.jsonl", "arxiv-json"),
        (FORMATS / "papers.csv", "csv"),
        (FORMATS / "papers.bib", "bibtex"),
    ],
)
def test_real_files_are_recognised_by_content(path: Path, expected: str) -> None:
    assert detect_format(head(path), path.name) == expected
    assert detect_format(head(path), "no-extension") == expected


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (ATOM, "arxiv-atom"),
        (OAI, "oai"),
        (b"\xef\xbb\xbf" + OAI, "oai"),
        (b'<?xml version="1.0"?>\n<!-- harvested -->\n<OAI-PMH>', "oai"),
        (b'{"id": "1", "title": "T", "versions": []}\n', "arxiv-json"),
        (b'{"title": "T", "abstract": "A"}\n{"title": "U"}\n', "jsonl"),
        (b'{"paper": {"id": "2401.01335"}, "title": "T"}', "hf-daily"),
        (b'[\n  {\n    "paper": {', "hf-daily"),
        (b'{\n    "2312.17653": {\n        "url": "https://arxiv.org/abs/2312.17653",', "hf-daily"),
        (b'{"title": "cut in the middle of a very long first li\n{"title": "x"}\n', "jsonl"),
        (b"% refs\n\n@InProceedings{key,\n title={T}}", "bibtex"),
        (b"id;title;abstract\n1;T;A\n", "csv"),
        (b"Title\tAbstract\nT\tA\n", "csv"),
    ],
)
def test_content_decides(data: bytes, expected: str) -> None:
    assert detect_format(data, "input") == expected


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        (FORMATS / "arxiv-snapshot-sample.jsonl", "arxiv-json"),
        (FORMATS / "hf-daily-papers-api.json", "hf-daily"),
    ],
)
def test_a_head_that_ends_inside_the_first_line(path: Path, expected: str) -> None:
    data = path.read_bytes()
    first_value = data.split(b"\n")[0] if path.suffix == ".jsonl" else data
    one_line = orjson.dumps(orjson.loads(first_value))  # as an API or a producer writes it
    assert detect_format(one_line[:300], "input") == expected
    assert detect_format(b'{"title": "T", "abstract": "' + b"x" * 500, "input") == "jsonl"
    assert detect_format(b'{"2312.17653": {"url": "https://arxiv.org/abs/2312.17653"', "x") == (
        "hf-daily"
    )


def test_a_head_cut_inside_a_character_is_still_text() -> None:
    data = "Title,Abstract\nA paper on Müller".encode()
    assert detect_format(data[:-4], "input") == "csv"


def test_extension_breaks_ties_only_where_content_allows() -> None:
    assert detect_format(b'{"abstract": "no title on the first line"}\n', "x.jsonl") == "jsonl"
    assert detect_format(b"title\nonly one column\n", "x.csv") == "csv"
    with pytest.raises(IngestError):
        detect_format(b"<html><body>hi</body></html>", "page.txt")


@pytest.mark.parametrize(
    "data",
    [b"", b"   \n", b"\xff\xfe\x00garbage", b"<html><body></body></html>", b"hello world", b"42"],
)
def test_unknown_content_names_the_source_and_suggests_format(data: bytes) -> None:
    with pytest.raises(IngestError, match=r"^mystery\.dat: cannot tell the format .*--format"):
        detect_format(data, "mystery.dat")


def test_a_gzipped_file_is_detected_and_parsed_through_file_source() -> None:
    source = file_source(str(ARXIV_DAILY), None, ParseOptions())
    first = next(iter(source.items(None)))
    assert isinstance(first, PaperRecord)
    assert first.featured_day is not None
