"""Garbage-collector settings for a process that ingests and then exits.

Its own module because two processes use it: the ingesting one (``paperfeed ingest``) and the
feeder's child that parses for it (``feeder.py``), which the ingest service itself starts.
"""

from __future__ import annotations

import gc


def tune_gc_for_a_one_shot_batch_job() -> None:
    # Ingest allocates ~30 container objects a record that all die within their batch; the
    # default thresholds walk the batch in progress every 700 allocations (10% of the profile,
    # BENCHMARKS.md). Fine for a process that exits when the ingest ends, not for a server.
    gc.freeze()
    gc.set_threshold(50_000, 20, 100)
