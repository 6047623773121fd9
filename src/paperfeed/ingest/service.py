"""The ingest pipeline: source -> prepare -> batches -> one transaction per batch.

Each batch and the checkpoint that counts it commit together, so a killed ingest leaves whole
batches only, and running it again skips what was committed and reaches the same final state.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from contextlib import AbstractContextManager, closing, nullcontext
from dataclasses import dataclass, field
from typing import Literal

from sqlalchemy import Engine

from paperfeed.domain import RecordError
from paperfeed.ingest.feeder import feeder_for
from paperfeed.ingest.normalise import Prepared, prepare
from paperfeed.ingest.sources import PageMark, Source
from paperfeed.ingest.upsert import BatchCounts, upsert_batch
from paperfeed.store import bulk_lexical, checkpoints, deferred_indexes
from paperfeed.store.checkpoints import Checkpoint
from paperfeed.store.engine import (
    is_sqlite,
    refresh_planner_statistics,
    sqlite_file,
    write_transaction,
)
from paperfeed.store.wal_checkpointer import BackgroundCheckpointer

log = logging.getLogger(__name__)

OnError = Literal["stop", "skip"]
ProgressCallback = Callable[[int, int], None]  # (records read, bytes read)
ANALYZE_AFTER = 10_000  # papers written by one ingest before PostgreSQL's statistics are redone
BULK_MIN_BYTES = 64 * 2**20  # smallest file that is bulk-loaded (~30,000 arXiv records)


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
    bulk: bool = False  # secondary indexes deferred to the end (store.deferred_indexes)

    def flush(self, finished: bool = False) -> None:
        if self.bulk and any(p.synthetic for p in self.batch):
            # Records without an arXiv id are matched by title among all papers.
            deferred_indexes.restore(self.engine, [deferred_indexes.TITLE_INDEX])
        with write_transaction(self.engine, bulk=self.bulk) as conn:
            if self.batch:
                with bulk_lexical.indexed_at_the_end(conn) if self.bulk else nullcontext():
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
    parallel: bool | None = None,
    bulk: bool | None = None,
    stage: Callable[[str], None] | None = None,
) -> IngestReport:
    """Ingest every record of ``source``; resume where an interrupted run of it stopped.

    ``parallel``: parse in a second process (``paperfeed.ingest.feeder``); by default, for a
    large file on a machine with more than one core. ``bulk``: on SQLite, defer the secondary
    indexes to the end (``store.deferred_indexes``); by default, when the file is at least as
    large as the database (and BULK_MIN_BYTES). ``stage`` hears what the ingest does after the
    last record (building indexes), which takes a while after a bulk load.
    """
    with engine.connect() as conn:
        previous = checkpoints.load(conn, source.key)
    resume = previous if previous is not None and not previous.finished else None
    skip = resume.records_done if resume else 0
    cursor = resume.cursor if resume else None
    seen = resume.records_at_cursor if resume and cursor else 0
    run = _Run(engine, source, batch_size, IngestReport(source.label), Checkpoint(skip, False))
    run.checkpoint.cursor, run.checkpoint.records_at_cursor = cursor, seen
    run.report.skipped_resumed = skip
    run.bulk = is_bulk_load(engine, source, bulk)
    if run.bulk:
        deferred_indexes.drop(engine)
        bulk_lexical.prepare(engine)
    else:
        finish_an_unfinished_bulk_load(engine)
    feeder = feeder_for(source, skip, parallel)
    items: Iterable[object] = feeder if feeder is not None else source.items(cursor)
    position = source.position if feeder is None else lambda: feeder.position
    try:
        with (
            closing(feeder) if feeder is not None else nullcontext(),
            _checkpointer(engine) if run.bulk else nullcontext(),
        ):
            for item in items:
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
                    progress(seen, position())
        run.flush(finished=True)
    finally:
        # Also after a bad record or a broken source: the store is left fully indexed. (A
        # killed process cannot; its rerun, or any other ingest, builds them.)
        if run.bulk:
            deferred_indexes.restore(engine, on_index=_announce(stage))
            _merge_lexical_index(engine, stage)
    if run.report.written >= ANALYZE_AFTER:
        refresh_planner_statistics(engine)
    if run.brought_activity:
        from paperfeed.rank.trending import recompute_trending

        recompute_trending(engine)
    if progress is not None:
        progress(seen, position())
    run.report.read = seen
    log.info("ingest finished", extra={"source": source.label, "read": seen})
    return run.report


def finish_an_unfinished_bulk_load(engine: Engine) -> list[str]:
    """What a bulk load killed before its end left: its secondary indexes out and its lexical
    index unmerged. Done by any other ingest and by ``paperfeed db upgrade``; returns the names
    of the indexes built (none, and one no-op merge statement, in the common case)."""
    built = deferred_indexes.restore(engine)
    bulk_lexical.merge_segments(engine)
    return built


def _merge_lexical_index(engine: Engine, stage: Callable[[str], None] | None) -> None:
    if stage is not None:
        stage("merging the lexical index")
    try:
        bulk_lexical.merge_segments(engine)
    except Exception:  # searches are slower until the next ingest merges; the load itself stands
        log.warning("lexical index left unmerged after a bulk load", exc_info=True)


def _announce(stage: Callable[[str], None] | None) -> Callable[[str], None] | None:
    return None if stage is None else lambda index: stage(f"building index {index}")


def _checkpointer(engine: Engine) -> AbstractContextManager[object]:
    path = sqlite_file(engine.url)
    return nullcontext() if path is None else BackgroundCheckpointer(str(path))


def is_bulk_load(engine: Engine, source: Source, bulk: bool | None) -> bool:
    if not is_sqlite(engine):
        return False
    if bulk is not None:
        return bulk
    size = source.size or 0
    return size >= max(BULK_MIN_BYTES, _database_bytes(engine))


def _database_bytes(engine: Engine) -> int:
    path = sqlite_file(engine.url)
    return path.stat().st_size if path is not None and path.exists() else 0


def _take(run: _Run, item: object, on_error: OnError) -> None:
    prepared = item if isinstance(item, RecordError | Prepared) else prepare(item)  # type: ignore[arg-type]
    if isinstance(prepared, RecordError):
        run.report.errors.append(prepared)
        log.warning("bad record", extra={"location": prepared.location, "reason": prepared.reason})
        if on_error == "stop":
            raise IngestFailed(prepared, run.report)
        return
    run.batch.append(prepared)
    run.brought_activity |= prepared.brings_activity
