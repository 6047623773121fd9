"""Property tests: whatever bytes arrive, a parser yields records and RecordErrors or raises
IngestError, and a failed ingest leaves the store exactly as it was."""

from __future__ import annotations

import copy
import csv
import gzip
import io
from datetime import date
from typing import Any

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine

from paperfeed.domain import Paper, PaperRecord, RecordError
from paperfeed.ingest.formats import IngestError, ParseOptions, get_parser
from paperfeed.ingest.formats.detect import detect_format
from paperfeed.ingest.normalise import prepare
from paperfeed.ingest.service import IngestFailed, run_ingest
from paperfeed.ingest.sources import bytes_source, file_source
from paperfeed.store.papers import count_papers, latest_papers
from tests.conftest import SEED_PAGE, TEST_DATA

FORMATS = TEST_DATA / "formats"
OWN_FORMATS = ("page", "arxiv-json", "hf-daily", "jsonl", "csv", "bibtex")
VALID = {
    "page": SEED_PAGE.read_bytes()[:6000],
    "arxiv-json": (FORMATS / "arxiv-snapshot-sample.jsonl").read_bytes()[:6000],
    "hf-daily": (FORMATS / "hf-daily-keyed.json").read_bytes(),
    "jsonl": b'{"id": "2503.11731", "title": "T", "abstract": "A", "listed": "2025-03-18"}\n' * 3,
    "csv": (FORMATS / "papers.csv").read_bytes()[:5000],
    "bibtex": (FORMATS / "papers.bib").read_bytes()[:5000],
}
FIELDS = [
    "id", "title", "abstract", "summary", "authors", "authors_parsed", "categories", "date",
    "versions", "update_date", "doi", "url", "listed", "upvotes", "paper", "publishedAt",
    "githubRepo", "githubStars", "projectPage", "submittedBy", "journal-ref", "comments",
]  # fmt: skip
FUZZ = settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**63), 2**63 - 1)
    | st.floats(allow_nan=False)
    | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.sampled_from(FIELDS), inner),
    max_leaves=8,
)
BASE_RECORDS = {
    "arxiv-json": [
        orjson.loads(line)
        for line in (FORMATS / "arxiv-snapshot-sample.jsonl").read_bytes().splitlines()[:2]
    ],
    "jsonl": [
        {
            "id": "2503.11731v2",
            "title": "Industrial-Grade Sensor Simulation via Gaussian Splatting",
            "abstract": "Sensor simulation is pivotal for scalable validation.",
            "authors": ["Xianming Zeng", "Sicong Du"],
            "date": "2025-03-14",
            "categories": ["cs.CV", "cs.RO"],
            "url": "https://arxiv.org/abs/2503.11731",
            "listed": "2025-03-18",
            "updated": "2025-03-20",
            "doi": "10.48550/arXiv.2503.11731",
            "upvotes": 3,
            "submitter": "akhaliq",
            "code_url": "https://github.com/example/gs",
            "project_url": "https://example.org/gs",
        }
    ],
    "hf-daily": orjson.loads((FORMATS / "hf-daily-papers-api.json").read_bytes())[:2],
}


@st.composite
def damaged(draw: st.DrawFn, fmt: str) -> dict[str, Any]:
    """A valid record with one to three fields (or nested paper fields) replaced by any JSON,
    so every field's coercion is reached with every wrong shape."""
    record = copy.deepcopy(draw(st.sampled_from(BASE_RECORDS[fmt])))
    for _ in range(draw(st.integers(1, 3))):
        target = record
        if "paper" in record and draw(st.booleans()):
            target = record["paper"] if isinstance(record["paper"], dict) else record
        key = draw(st.sampled_from(sorted(target) + FIELDS))
        if draw(st.booleans()):
            target.pop(key, None)
        else:
            target[key] = draw(json_values)
    return record


def outcome(fmt: str, data: bytes) -> list[PaperRecord | RecordError]:
    """Parse fully; only records, RecordErrors or an IngestError may come out."""
    options = ParseOptions(today=date(2026, 1, 1))
    try:
        items = list(get_parser(fmt)(io.BytesIO(data), "fuzz.in", options))
    except IngestError as error:
        assert str(error).startswith("fuzz.in: ")
        return []
    for item in items:
        assert isinstance(item, PaperRecord | RecordError)
        if isinstance(item, RecordError):
            assert item.location.startswith("fuzz.in ") and item.reason
        else:
            assert isinstance(item.title, str) and isinstance(item.abstract, str)
            assert all(isinstance(name, str) for name in item.authors)
            prepare(item)  # what the parser made must be fit for the next stage
    return items


@st.composite
def mutated(draw: st.DrawFn, fmt: str) -> bytes:
    """A valid input with a few bytes flipped, dropped or inserted."""
    data = bytearray(VALID[fmt])
    for _ in range(draw(st.integers(1, 6))):
        at = draw(st.integers(0, len(data)))
        action = draw(st.sampled_from(["flip", "drop", "insert", "cut"]))
        if action == "cut":
            del data[at:]
        elif action == "drop":
            del data[at : at + draw(st.integers(1, 40))]
        elif action == "insert":
            data[at:at] = draw(st.binary(min_size=1, max_size=8))
        elif at < len(data):
            data[at] = draw(st.integers(0, 255))
    return bytes(data)


@pytest.mark.parametrize("fmt", OWN_FORMATS)
@FUZZ
@given(data=st.binary(max_size=3000))
def test_arbitrary_bytes(fmt: str, data: bytes) -> None:
    outcome(fmt, data)


@pytest.mark.parametrize("fmt", OWN_FORMATS)
@FUZZ
@given(data=st.data())
def test_mutated_valid_inputs(fmt: str, data: st.DataObject) -> None:
    outcome(fmt, data.draw(mutated(fmt)))


@pytest.mark.parametrize("fmt", ["arxiv-json", "jsonl"])
@FUZZ
@given(data=st.data())
def test_json_lines_with_damaged_fields(fmt: str, data: st.DataObject) -> None:
    lines = data.draw(st.lists(damaged(fmt) | json_values, min_size=1, max_size=4))
    outcome(fmt, b"\n".join(orjson.dumps(line) for line in lines))


@FUZZ
@given(data=st.data())
def test_hf_documents_with_damaged_fields(data: st.DataObject) -> None:
    items = data.draw(st.lists(damaged("hf-daily") | json_values, max_size=3))
    keyed = data.draw(st.booleans())
    document = {str(i): item for i, item in enumerate(items)} if keyed else items
    outcome("hf-daily", orjson.dumps(document))


@FUZZ
@given(
    columns=st.lists(st.sampled_from([*FIELDS, "code_url", "featured_day"]), max_size=6),
    rows=st.lists(st.lists(st.text(max_size=30), max_size=8), max_size=4),
)
def test_csv_rows_of_any_text(columns: list[str], rows: list[list[str]]) -> None:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(["title", *columns])
    writer.writerows(rows)
    outcome("csv", buffer.getvalue().encode())


@FUZZ
@given(data=st.binary(max_size=3000) | st.sampled_from(list(VALID.values())))
def test_detect_returns_a_format_or_an_ingest_error(data: bytes) -> None:
    try:
        assert detect_format(data, "fuzz.in") in (*OWN_FORMATS, "arxiv-atom", "oai")
    except IngestError as error:
        assert str(error).startswith("fuzz.in: ")


@pytest.mark.parametrize("fmt", OWN_FORMATS)
def test_a_truncated_gzip_is_an_ingest_error(fmt: str) -> None:
    body = gzip.compress(VALID[fmt])[:40]
    source = bytes_source("cut.gz", body, fmt, ParseOptions())
    with pytest.raises(IngestError, match=r"^cut\.gz: corrupt or truncated gzip data"):
        list(source.items(None))


def stored(engine: Engine) -> tuple[int, list[Paper]]:
    with engine.connect() as conn:
        return count_papers(conn), latest_papers(conn, limit=10_000)


def seeded(engine: Engine) -> tuple[int, list[Paper]]:
    options = ParseOptions(featured_day=date(2025, 3, 14))
    run_ingest(engine, file_source(str(SEED_PAGE), "page", options))
    state = stored(engine)
    assert state[0] == 58
    return state


GARBAGE = [
    ("page", b"\xff\xfe not text"),
    ("arxiv-json", b'{"id": "0704.0001", "title": "Good"}\n{"id": "0704.0002", "title": '),
    ("hf-daily", b'[{"paper": {"id": "2401.01335", "title": "T"}}'),
    ("jsonl", b'{"title": "Fine", "abstract": "A"}\n{"title": ["not", "text"]}\n'),
    ("csv", b"title,abstract\nGood,Row\n,missing title\n"),
    ("bibtex", b"@misc{a, title = {Good}}\n@misc{b, title = {Unclosed\n"),
    ("jsonl", gzip.compress(b'{"title": "Good", "abstract": "A"}\n' * 50)[:60]),
]


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_failed_ingests_leave_the_store_as_it_was(engine: Engine) -> None:
    before = seeded(engine)
    for fmt, body in GARBAGE:
        with pytest.raises((IngestError, IngestFailed)):
            run_ingest(engine, bytes_source(f"garbage.{fmt}", body, fmt, ParseOptions()))
        assert stored(engine) == before, fmt


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(fmt=st.sampled_from(OWN_FORMATS), data=st.data())
def test_ingesting_garbage_after_a_good_ingest(engine: Engine, fmt: str, data: Any) -> None:
    with engine.connect() as conn:
        if count_papers(conn) == 0:
            seeded(engine)
    before = stored(engine)
    body = data.draw(st.binary(max_size=2000) | mutated(fmt))
    try:
        report = run_ingest(engine, bytes_source("garbage", body, fmt, ParseOptions()))
    except (IngestError, IngestFailed):
        assert stored(engine) == before
        return
    if report.written == 0:  # nothing valid in it: nothing may have changed
        assert stored(engine) == before
