"""The ingest pipeline: whole batches with their checkpoint, bad records, resumed runs.

Every test runs on SQLite and PostgreSQL, over real arXiv listing records.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

import pytest
from sqlalchemy import Engine, select

from paperfeed.domain import PaperRecord, RecordError
from paperfeed.ingest import service
from paperfeed.ingest.service import IngestFailed, run_ingest
from paperfeed.ingest.sources import PageMark
from paperfeed.store import checkpoints
from paperfeed.store.schema import papers
from tests.conftest import arxiv_rows
from tests.store.dbstate import ListSource, counts, digest, fresh_copy, to_record

TOTAL = 600
BATCH = 200


def real_records(count: int = TOTAL) -> list[PaperRecord | RecordError]:
    rows = arxiv_rows(count)
    return [to_record(row, f"daily.jsonl line {n}") for n, row in enumerate(rows, 1)]


def stored_ids(engine: Engine) -> set[str]:
    with engine.connect() as conn:
        return set(conn.execute(select(papers.c.id)).scalars())


def checkpoint(engine: Engine, key: str) -> checkpoints.Checkpoint | None:
    with engine.connect() as conn:
        return checkpoints.load(conn, key)


def ids_of(records: list[PaperRecord | RecordError]) -> set[str]:
    return {str(r.id) for r in records if isinstance(r, PaperRecord)}


def test_a_finished_ingest_commits_everything_and_says_so(engine: Engine) -> None:
    records = real_records()
    report = run_ingest(engine, ListSource(records, key="daily"), batch_size=BATCH)
    assert (report.read, report.counts.inserted, report.errors) == (TOTAL, TOTAL, [])
    assert stored_ids(engine) == ids_of(records)
    assert checkpoint(engine, "daily") == checkpoints.Checkpoint(TOTAL, True, None, 0)


def test_a_source_that_breaks_leaves_whole_batches_and_their_checkpoint(engine: Engine) -> None:
    records = real_records()
    with pytest.raises(ConnectionError):
        run_ingest(engine, ListSource(records, key="daily", fail_after=500), batch_size=BATCH)
    assert stored_ids(engine) == ids_of(records[:400])
    assert checkpoint(engine, "daily") == checkpoints.Checkpoint(400, False, None, 0)
    authors = [len(r.authors) for r in records[:400] if isinstance(r, PaperRecord)]
    assert counts(engine)["paper_authors"] == sum(authors)


def test_stop_on_error_names_the_record_and_keeps_only_whole_earlier_batches(
    engine: Engine,
) -> None:
    records = real_records()
    records[449] = PaperRecord(
        title=records[449].title,  # type: ignore[union-attr]
        abstract="",
        id="arXiv:2401.1234567",
        location="daily.jsonl line 450",
    )
    with pytest.raises(IngestFailed) as failure:
        run_ingest(engine, ListSource(records, key="daily"), batch_size=BATCH)
    assert failure.value.error.location == "daily.jsonl line 450"
    assert "not an arXiv id" in failure.value.error.reason
    assert "daily.jsonl line 450" in str(failure.value)
    assert stored_ids(engine) == ids_of(records[:400])
    assert checkpoint(engine, "daily") == checkpoints.Checkpoint(400, False, None, 0)

    # Told to skip, a second run goes on after what was committed and reports the record again.
    report = run_ingest(engine, ListSource(records, key="daily"), on_error="skip", batch_size=BATCH)
    assert report.skipped_resumed == 400
    assert [e.location for e in report.errors] == ["daily.jsonl line 450"]
    assert stored_ids(engine) == ids_of(records) - {"arXiv:2401.1234567"}


BAD: dict[int, PaperRecord | RecordError] = {
    3: PaperRecord(title="", abstract="no title", location="daily.jsonl line 3"),
    10: PaperRecord(title="!!! ???", abstract="x", location="daily.jsonl line 10"),
    250: RecordError("daily.jsonl line 250", "invalid JSON: unexpected end of data"),
    301: PaperRecord(title="A\x00B", abstract="x", location="daily.jsonl line 301"),
    577: PaperRecord(title="T" * 1_001, abstract="x", location="daily.jsonl line 577"),
    599: PaperRecord(title="Good title", abstract="x", id="cs/06", location="daily.jsonl line 599"),
}


def test_skip_reports_every_bad_record_with_its_location_and_goes_on(engine: Engine) -> None:
    records = real_records()
    for n, bad in BAD.items():
        records[n - 1] = bad
    report = run_ingest(engine, ListSource(records, key="daily"), on_error="skip", batch_size=BATCH)
    assert [e.location for e in report.errors] == [f"daily.jsonl line {n}" for n in BAD]
    assert all(e.reason for e in report.errors)
    assert report.read == TOTAL
    assert report.counts.inserted == TOTAL - len(BAD)
    assert stored_ids(engine) == ids_of(records) - {"cs/06", "None"}
    assert checkpoint(engine, "daily") == checkpoints.Checkpoint(TOTAL, True, None, 0)


@pytest.mark.parametrize("fail_after", [1, 199, 200, 201, 599])
def test_a_resumed_run_skips_what_was_committed_and_ends_like_a_clean_run(
    engine: Engine, fresh_engine: Engine, fail_after: int
) -> None:
    records = real_records()
    run_ingest(fresh_engine, ListSource(records, key="daily"), batch_size=BATCH)

    with pytest.raises(ConnectionError):
        run_ingest(
            engine, ListSource(records, key="daily", fail_after=fail_after), batch_size=BATCH
        )
    committed = fail_after // BATCH * BATCH
    resumed = run_ingest(engine, ListSource(records, key="daily"), batch_size=BATCH)

    assert resumed.skipped_resumed == committed
    assert resumed.counts.inserted == TOTAL - committed
    assert counts(engine) == counts(fresh_engine)
    assert digest(engine) == digest(fresh_engine)


def test_a_finished_source_run_again_starts_over_and_changes_nothing(engine: Engine) -> None:
    records = real_records()
    run_ingest(engine, ListSource(records, key="daily"), batch_size=BATCH)
    before = digest(engine, strict=True)
    again = run_ingest(engine, ListSource(records, key="daily"), batch_size=BATCH)
    assert again.skipped_resumed == 0
    assert (again.counts.inserted, again.counts.updated) == (0, 0)
    assert digest(engine, strict=True) == before


@dataclass
class PagedSource:
    """A network-like source: pages of records, each followed by a PageMark to resume from."""

    records: list[PaperRecord | RecordError]
    page_size: int
    fail_after: int | None = None
    key: str = "paged"
    label: str = "arxiv:cat:cs.CV"
    size: int | None = None
    asked_from: list[str | None] = field(default_factory=list)

    def items(self, cursor: str | None) -> Iterator[PaperRecord | RecordError | PageMark]:
        self.asked_from.append(cursor)
        start = int(cursor) if cursor else 0
        for page in range(start, len(self.records), self.page_size):
            for n, record in enumerate(self.records[page : page + self.page_size], page):
                if self.fail_after is not None and n >= self.fail_after:
                    raise ConnectionError("arXiv answered 503 once too often")
                yield fresh_copy(record)
            yield PageMark(str(page + self.page_size))

    def position(self) -> int:
        return 0


def test_a_paged_source_resumes_from_the_page_that_covers_the_checkpoint(
    engine: Engine, fresh_engine: Engine
) -> None:
    records = real_records()
    run_ingest(fresh_engine, PagedSource(records, page_size=100), batch_size=BATCH)

    with pytest.raises(ConnectionError):
        run_ingest(engine, PagedSource(records, page_size=100, fail_after=550), batch_size=BATCH)
    # The batch of 400 committed before the page mark after record 400 was read.
    assert checkpoint(engine, "paged") == checkpoints.Checkpoint(400, False, "300", 300)
    source = PagedSource(records, page_size=100)
    resumed = run_ingest(engine, source, batch_size=BATCH)

    assert source.asked_from == ["300"]
    assert resumed.counts.inserted == TOTAL - 400
    assert digest(engine) == digest(fresh_engine)


def test_a_large_ingest_refreshes_postgresql_statistics(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(service, "ANALYZE_AFTER", TOTAL)
    run_ingest(engine, ListSource(real_records(), key="daily"), batch_size=BATCH)
    if engine.dialect.name != "postgresql":
        return  # SQLite: nothing to refresh, and nothing failed
    with engine.connect() as conn:
        analysed = conn.exec_driver_sql(
            "SELECT last_analyze FROM pg_stat_user_tables WHERE relname = 'papers'"
        ).scalar()
    assert analysed is not None
