"""The ingest pipeline: source -> prepare -> batches -> one transaction per batch.

Each batch and the checkpoint that counts it commit together, so a killed ingest leaves whole
batches only, and running it again skips what was committed and reaches the same final state.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal

from sqlalchemy import Engine

from paperfeed.domain import RecordError
from paperfeed.ingest.normalise import Prepared, prepare
from paperfeed.ingest.sources import PageMark, Source
from paperfeed.ingest.upsert import BatchCounts, upsert_batch
from paperfeed.store import checkpoints
from paperfeed.store.checkpoints import Checkpoint
from paperfeed.store.engine import refresh_planner_statistics, write_transaction

log = logging.getLogger(__name__)

OnError = Literal["stop", "skip"]
ProgressCallback = Callable[[int, int], None]  # (records read, bytes read)
ANALYZE_AFTER = 10_000  # papers written by one ingest before PostgreSQL's statistics are redone


class IngestFailed(Exception):
    """Ingest stopped at a bad record; what was committed before it stays committed."""

    def __init__(self, error: RecordError, report: IngestReport) -> None:
        super().__init__(str(error))
        self.error = error
        self.report = report


@dataclass
class IngestReport:
    source: str
    read: int = 0
    skipped_resumed: int = 0
    counts: BatchCounts = field(default_factory=BatchCounts)
    errors: list[RecordError] = field(default_factory=list)

    @property
    def written(self) -> int:
        return self.counts.inserted + self.counts.updated


@dataclass
class _Run:
    engine: Engine
    source: Source
    batch_size: int
    report: IngestReport
    checkpoint: Checkpoint
    batch: list[Prepared] = field(default_factory=list)
    # Whether a record brought upvotes or GitHub stars: trending is recomputed at the end.
    brought_activity: bool = False

    def flush(self, finished: bool = False) -> None:
        with write_transaction(self.engine) as conn:
            if self.batch:
                self.report.counts.add(upsert_batch(conn, self.batch))
            self.checkpoint.finished = finished
            checkpoints.save(conn, self.source.key, self.source.label, self.checkpoint)
        self.batch = []


def run_ingest(
    engine: Engine,
    source: Source,
    *,
    on_error: OnError = "stop",
    batch_size: int = 2000,
    progress: ProgressCallback | None = None,
) -> IngestReport:
    """Ingest every record of ``source``; resume where an interrupted run of it stopped."""
    with engine.connect() as conn:
        previous = checkpoints.load(conn, source.key)
    resume = previous if previous is not None and not previous.finished else None
    skip = resume.records_done if resume else 0
    cursor = resume.cursor if resume else None
    seen = resume.records_at_cursor if resume and cursor else 0
    run = _Run(engine, source, batch_size, IngestReport(source.label), Checkpoint(skip, False))
    run.checkpoint.cursor, run.checkpoint.records_at_cursor = cursor, seen
    run.report.skipped_resumed = skip
    for item in source.items(cursor):
        if isinstance(item, PageMark):
            run.checkpoint.cursor, run.checkpoint.records_at_cursor = item.cursor, seen
            continue
        seen += 1
        if seen <= skip:
            continue
        _take(run, item, on_error)
        run.checkpoint.records_done = seen
        if len(run.batch) >= batch_size:
            run.flush()
        if progress is not None and seen % 256 == 0:
            progress(seen, source.position())
    run.flush(finished=True)
    if run.report.written >= ANALYZE_AFTER:
        refresh_planner_statistics(engine)
    if run.brought_activity:
        from paperfeed.rank.trending import recompute_trending

        recompute_trending(engine)
    if progress is not None:
        progress(seen, source.position())
    run.report.read = seen
    log.info("ingest finished", extra={"source": source.label, "read": seen})
    return run.report


def _take(run: _Run, item: object, on_error: OnError) -> None:
    prepared = item if isinstance(item, RecordError) else prepare(item)  # type: ignore[arg-type]
    if isinstance(prepared, RecordError):
        run.report.errors.append(prepared)
        log.warning("bad record", extra={"location": prepared.location, "reason": prepared.reason})
        if on_error == "stop":
            raise IngestFailed(prepared, run.report)
        return
    run.batch.append(prepared)
    record = prepared.record
    if record.upvotes or any(link.stars is not None for link in record.links):
        run.brought_activity = True
