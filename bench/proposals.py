"""Changes proposed for files the benchmark's owner does not own, applied as patches so their
effect can be measured (``bench/ingest.py --variant current+NAME``). Each is
behaviour-preserving. (The ``prepare`` and ``gc`` proposals measured in BENCHMARKS.md have
since been applied to the code and are gone from here.)

- ``pipeline`` (ingest/service.py): write batch N in a writer thread while the main thread
  parses and prepares batch N+1. sqlite3 and psycopg release the GIL while the database works
  (SQLite's FTS5 tokenising, B-tree inserts; PostgreSQL's server is another process), so the
  second core does the store's work. At most one batch is in flight, and each batch still
  commits with its checkpoint in one transaction, in order.
- ``cache`` (store/engine.py): ``PRAGMA cache_size=-65536`` (64 MiB instead of 2 MiB): a batch's
  dirty pages no longer spill to the WAL before commit (py-spy: 6% of the time in
  ``sqlite3PcacheFetchStress``), and index pages are not read again from the OS every batch.
- ``mmap`` (store/engine.py): ``PRAGMA mmap_size=268435456``: pages read without a syscall.
- ``normal`` (store/engine.py, ingest only): ``PRAGMA synchronous=NORMAL``: a batch's commit
  does not wait for the WAL's fsync (a power cut may undo the last batches and their
  checkpoint together; the next run redoes them).
- ``switch`` (cli ingest): ``sys.setswitchinterval(0.0005)``: with ``pipeline``, a thread coming
  back from SQLite waits for the GIL at most 0.5 ms instead of 5 ms.
"""

from __future__ import annotations

import re
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import replace
from typing import Any

from sqlalchemy import Engine, event

from paperfeed.ingest import normalise, service
from paperfeed.store import checkpoints
from paperfeed.store.engine import write_transaction

_WORD = re.compile(r"\w+")


def use_pragmas(engine: Engine, pragmas: list[str]) -> None:
    """``cache``: 64 MiB page cache; ``mmap``: read the database through a 256 MiB mapping."""
    statements = {
        "cache": "PRAGMA cache_size=-65536",
        "mmap": "PRAGMA mmap_size=268435456",
        "normal": "PRAGMA synchronous=NORMAL",
    }

    @event.listens_for(engine, "connect")
    def _pragmas(dbapi_connection: Any, _record: Any) -> None:
        for name in pragmas:
            dbapi_connection.execute(statements[name])

    engine.dispose()


class _PipelinedRun(service._Run):
    """service._Run whose flush hands the batch to a writer thread and returns at once."""

    executor: ThreadPoolExecutor
    pending: Future[None] | None = None

    def flush(self, finished: bool = False) -> None:
        batch, mark = self.batch, replace(self.checkpoint, finished=finished)
        self.batch = []
        self.drain()  # one batch in flight: order kept, errors surface at the next flush
        self.pending = self.executor.submit(self._write, batch, mark)
        if finished:
            self.drain()

    def drain(self) -> None:
        if self.pending is not None:
            pending, self.pending = self.pending, None
            pending.result()

    def _write(self, batch: list[normalise.Prepared], mark: checkpoints.Checkpoint) -> None:
        with write_transaction(self.engine) as conn:
            if batch:
                self.report.counts.add(service.upsert_batch(conn, batch))
            checkpoints.save(conn, self.source.key, self.source.label, mark)


def use_pipeline() -> None:
    original = service.run_ingest

    def run_ingest(*args: Any, **kwargs: Any) -> service.IngestReport:
        runs: list[_PipelinedRun] = []

        def make_run(*run_args: Any, **run_kwargs: Any) -> _PipelinedRun:
            run = _PipelinedRun(*run_args, **run_kwargs)
            run.executor = executor
            runs.append(run)
            return run

        with ThreadPoolExecutor(1, thread_name_prefix="ingest-writer") as executor:
            service._Run = make_run  # type: ignore[misc, assignment]
            try:
                return original(*args, **kwargs)
            finally:
                # A bad record stops the main thread: let the batch in flight finish first.
                for run in runs:
                    run.drain()
                service._Run = _PipelinedRun.__mro__[1]  # type: ignore[misc]

    service.run_ingest = run_ingest  # type: ignore[assignment]
