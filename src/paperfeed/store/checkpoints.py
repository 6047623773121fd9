"""Ingest checkpoints: how far a source got, committed with the batch it describes."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

import orjson
from sqlalchemy import Connection, delete, insert, select, update

from paperfeed.store.schema import ingest_checkpoints


@dataclass(slots=True)
class Checkpoint:
    records_done: int
    finished: bool
    cursor: str | None = None  # the last PageMark's cursor
    records_at_cursor: int = 0  # items yielded before that mark


def load(conn: Connection, key: str) -> Checkpoint | None:
    row = conn.execute(select(ingest_checkpoints).where(ingest_checkpoints.c.source_key == key))
    found = row.mappings().first()
    if found is None:
        return None
    cursor = orjson.loads(found["cursor"]) if found["cursor"] else {}
    return Checkpoint(
        found["records_done"], found["finished"], cursor.get("cursor"), cursor.get("at", 0)
    )


def save(conn: Connection, key: str, source: str, checkpoint: Checkpoint) -> None:
    values = {
        "source": source[:2000],
        "records_done": checkpoint.records_done,
        "finished": checkpoint.finished,
        "cursor": orjson.dumps(
            {"cursor": checkpoint.cursor, "at": checkpoint.records_at_cursor}
        ).decode(),
        "updated_at": datetime.now(UTC),
    }
    table = ingest_checkpoints
    changed = conn.execute(update(table).where(table.c.source_key == key).values(**values))
    if changed.rowcount == 0:
        conn.execute(insert(table).values(source_key=key, **values))


def clear(conn: Connection, key: str) -> None:
    conn.execute(delete(ingest_checkpoints).where(ingest_checkpoints.c.source_key == key))
