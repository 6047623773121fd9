"""Numbers no column can hold, NaN and Infinity, and NUL bytes, in every ingest format.

Each such record is reported by name (file and line or record number) and, with
``on_error="skip"``, skipped while every other record is stored: nothing reaches SQL that SQL
would refuse with a traceback.
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest
from sqlalchemy import Engine, select

from paperfeed.domain import RecordError
from paperfeed.ingest.formats import IngestError, ParseOptions
from paperfeed.ingest.formats.fields import MAX_COUNT
from paperfeed.ingest.service import run_ingest
from paperfeed.ingest.sources import file_source
from paperfeed.store.schema import papers

CREATED = "Mon, 1 Jan 2024 00:00:00 GMT"
HUGE = [2**63, 2**64, 2**70, 10**40]
# JSON number texts orjson cannot hold, and the non-standard constants some writers emit.
WILD_JSON = [str(n) for n in HUGE] + ["1e999", "-1e999", "NaN", "Infinity", "-1", "2.5"]


def good(n: int) -> dict[str, object]:
    return {"id": f"2401.{n:05d}", "title": f"A good paper {n}", "abstract": "Fine.", "upvotes": n}


def with_wild_upvotes(n: int, wild: str) -> str:
    """Paper ``n`` as JSON with ``wild`` as its upvotes, written as the number text itself."""
    return json.dumps(good(n)).replace(f'"upvotes": {n}}}', f'"upvotes": {wild}}}')


def jsonl_file(tmp_path: Path) -> Path:
    """A good line, a line for each wild value, a good line."""
    wild = [with_wild_upvotes(n, text) for n, text in enumerate(WILD_JSON, 2)]
    lines = [json.dumps(good(1)), *wild, json.dumps(good(99))]
    path = tmp_path / "papers.jsonl"
    path.write_text("\n".join(lines) + "\n")
    return path


def hf_file(tmp_path: Path) -> Path:
    wild = [f'{{"paper": {with_wild_upvotes(n, text)}}}' for n, text in enumerate(WILD_JSON, 2)]
    items = [f'{{"paper": {json.dumps(good(n))}}}' for n in (1, 99)]
    path = tmp_path / "daily.json"
    path.write_text("[" + ", ".join([items[0], *wild, items[1]]) + "]")
    return path


def stored_ids(engine: Engine) -> list[str]:
    with engine.connect() as conn:
        return sorted(conn.execute(select(papers.c.id)).scalars())


def ingest(engine: Engine, path: Path, fmt: str, parallel: bool = False) -> list[RecordError]:
    source = file_source(str(path), fmt, ParseOptions())
    report = run_ingest(engine, source, on_error="skip", parallel=parallel)
    return report.errors


@pytest.mark.parametrize("parallel", [False, True], ids=["in-process", "parser-process"])
def test_jsonl_upvotes_out_of_range_skip_those_lines_only(
    engine: Engine, tmp_path: Path, parallel: bool
) -> None:
    path = jsonl_file(tmp_path)
    errors = ingest(engine, path, "jsonl", parallel)
    assert [e.location for e in errors] == [
        f"{path} line {n}" for n in range(2, len(WILD_JSON) + 2)
    ]
    assert all("upvotes" in e.reason for e in errors), errors
    assert stored_ids(engine) == ["2401.00001", "2401.00099"]


def test_hf_daily_upvotes_out_of_range_skip_those_records_only(
    engine: Engine, tmp_path: Path
) -> None:
    path = hf_file(tmp_path)
    errors = ingest(engine, path, "hf-daily")
    expected = [f"{path} record {n}" for n in range(2, len(WILD_JSON) + 2)]
    assert [e.location for e in errors] == expected
    assert all("upvotes" in e.reason for e in errors), errors
    assert stored_ids(engine) == ["2401.00001", "2401.00099"]


def test_csv_counts_and_nul_bytes(engine: Engine, tmp_path: Path) -> None:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["id", "title", "abstract", "authors", "upvotes"])
    writer.writerow(["2401.00001", "Fine", "a", "Ada", "3"])
    writer.writerow(["2401.00002", "Huge", "a", "Ada", str(2**63)])
    writer.writerow(["2401.00003", "Nul", "a", "Ada\x00Byron", "1"])
    writer.writerow(["2401.00004", "Digits", "a", "Ada", "9" * 5000])
    writer.writerow(["2401.00005", "Fine too", "a", "Ada", str(MAX_COUNT)])
    path = tmp_path / "papers.csv"
    path.write_text(out.getvalue())
    errors = ingest(engine, path, "csv")
    assert [e.location.rsplit(" ", 1)[-1] for e in errors] == ["3", "4", "5"]
    assert "upvotes is too large" in errors[0].reason
    assert errors[1].reason == "NUL character in authors"
    assert stored_ids(engine) == ["2401.00001", "2401.00005"]


def test_snapshot_versions_past_the_column_and_nul_in_any_field(
    engine: Engine, tmp_path: Path
) -> None:
    def row(n: int, **fields: object) -> str:
        base = {"id": f"2401.0000{n}", "title": f"Snapshot {n}", "abstract": "a",
                "authors": "Ada Lovelace", "categories": "cs.CL",
                "versions": [{"version": "v1", "created": CREATED}]}  # fmt: skip
        return json.dumps(base | fields)

    huge_version = [{"version": f"v{2**64}", "created": CREATED}]
    lines = [row(1), row(2, versions=huge_version), row(3, comments="a\x00b"),
             row(4, **{"journal-ref": "J\x00"}), row(5)]  # fmt: skip
    path = tmp_path / "snapshot.jsonl"
    path.write_text("\n".join(lines) + "\n")
    errors = ingest(engine, path, "arxiv-json")
    assert [e.location.rsplit(" ", 1)[-1] for e in errors] == ["2", "3", "4"]
    assert errors[0].reason.startswith("version out of range")
    assert errors[1].reason == "NUL character in comment"
    assert stored_ids(engine) == ["2401.00001", "2401.00005"]


def test_a_file_that_is_not_json_at_all_is_still_one_clear_error(tmp_path: Path) -> None:
    from paperfeed.ingest.formats import hf_daily

    with pytest.raises(IngestError, match="not a JSON document"):
        list(hf_daily.parse(io.BytesIO(b"[{"), "broken.json", ParseOptions()))
