"""WAL checkpoints of a bulk load, run by a thread beside the writer instead of by the writer.

In WAL mode each page a transaction writes goes to the WAL first, and a checkpoint copies it to
the database file later. By default the committing connection does that itself once the WAL
passes 1,000 pages, which during a bulk load is at every batch: ~10% of the writer's time, with
the other core idle meanwhile. Here a thread with its own connection runs passive checkpoints
(they never block the writer, and sqlite3 releases the GIL while SQLite works). A bulk load's
own commits checkpoint only once the WAL is ``engine.BULK_WAL_BYTES`` long
(``write_transaction(bulk=True)``): a bound on its size for when the thread falls behind.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
from types import TracebackType

log = logging.getLogger(__name__)

INTERVAL_S = 0.02  # a batch of 2,000 papers takes ~0.2 s to write
MAX_FAILURES_IN_A_ROW = 10  # then the writer's own checkpoints take over


class BackgroundCheckpointer:
    """``with BackgroundCheckpointer(path):`` checkpoints ``path``'s WAL until the block ends."""

    def __init__(self, path: str) -> None:
        self._path = path
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="wal-checkpointer", daemon=True)

    def __enter__(self) -> BackgroundCheckpointer:
        self._thread.start()
        return self

    def __exit__(
        self,
        _type: type[BaseException] | None,
        _value: BaseException | None,
        _traceback: TracebackType | None,
    ) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        try:
            connection = sqlite3.connect(self._path, isolation_level=None)
        except sqlite3.Error as error:  # the writer checkpoints by itself then
            log.warning("no background checkpoints", extra={"reason": str(error)})
            return
        failures = 0
        try:
            while not self._stop.wait(INTERVAL_S) and failures < MAX_FAILURES_IN_A_ROW:
                try:
                    connection.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
                    failures = 0
                except sqlite3.Error as error:  # e.g. an I/O error: the next one may pass
                    failures += 1
                    log.warning("background checkpoint failed", extra={"reason": str(error)})
        finally:
            connection.close()
