"""Helpers for storage and ingest tests: real records, a list Source, and database digests.

A *digest* is a hash of every row of every paperfeed table, so two databases (or one database
before and after something) can be compared for "exactly the same content" in one assertion.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import orjson
from sqlalchemy import Engine, Table, func, select

from paperfeed.domain import PaperRecord, RecordError
from paperfeed.ingest.sources import PageMark
from paperfeed.store.schema import CHILD_TABLES, ingest_checkpoints, papers

# Columns that say *when* a row was written, not what it holds.
_WRITE_TIMES = {"first_seen_at", "updated_at"}


def write_jsonl(rows: list[dict[str, Any]], path: Path) -> Path:
    path.write_bytes(b"".join(orjson.dumps(row) + b"\n" for row in rows))
    return path


def to_record(row: dict[str, Any], location: str = "") -> PaperRecord:
    return PaperRecord(
        id=row.get("id"),
        title=row["title"],
        abstract=row["abstract"],
        authors=list(row.get("authors", [])),
        categories=list(row.get("categories", [])),
        location=location,
    )


@dataclass
class ListSource:
    """A Source over records held in memory; ``fail_after`` simulates a crash mid-read."""

    records: Sequence[PaperRecord | RecordError]
    key: str = "list-source"
    label: str = "records.jsonl"
    size: int | None = None
    fail_after: int | None = None
    yielded: int = field(default=0, init=False)

    def items(self, cursor: str | None) -> Iterator[PaperRecord | RecordError | PageMark]:
        self.yielded = 0
        for record in self.records:
            if self.fail_after is not None and self.yielded >= self.fail_after:
                raise ConnectionError("source went away")
            self.yielded += 1
            yield fresh_copy(record)

    def position(self) -> int:
        return self.yielded


def fresh_copy(item: PaperRecord | RecordError) -> PaperRecord | RecordError:
    # prepare() normalises records in place; a source must hand out fresh ones on every read.
    if isinstance(item, RecordError):
        return item
    return replace(
        item,
        authors=list(item.authors),
        categories=list(item.categories),
        versions=list(item.versions),
        links=list(item.links),
    )


def _hash(values: Any) -> str:
    return hashlib.sha256(orjson.dumps(values, default=str)).hexdigest()


def _rows(engine: Engine, table: Table, strict: bool) -> list[str]:
    """Every row of ``table`` as text; children name their paper by id, not by pk."""
    columns = [c for c in table.c if strict or c.name not in _WRITE_TIMES]
    if table is papers:
        columns = [c for c in columns if strict or c.name != "pk"]
        query = select(*columns)
    elif table is ingest_checkpoints:
        query = select(*[c for c in columns if c.name != "updated_at"])
    else:
        columns = [c for c in columns if c.name != "paper_pk"]
        query = select(papers.c.id, *columns).join(papers, papers.c.pk == table.c.paper_pk)
        if strict:
            query = query.add_columns(table.c.paper_pk)
    with engine.connect() as conn:
        return sorted(repr(tuple(row)) for row in conn.execute(query))


def digest(engine: Engine, *, strict: bool = False) -> dict[str, str]:
    """A hash of each table's content.

    Not strict: what a user sees (write times and internal keys left out), so two databases that
    were filled in different ways compare equal. Strict: every column, internal keys and write
    times included, so "nothing was rewritten" can be checked.
    """
    tables = (papers, *CHILD_TABLES, ingest_checkpoints)
    return {t.name: _hash(_rows(engine, t, strict)) for t in tables}


def counts(engine: Engine) -> dict[str, int]:
    with engine.connect() as conn:
        return {
            t.name: int(conn.execute(select(func.count()).select_from(t)).scalar_one())
            for t in (papers, *CHILD_TABLES, ingest_checkpoints)
        }


def paper_digests(engine: Engine) -> dict[str, str]:
    """One hash per paper id, of the paper row and all its children (write times left out)."""
    found: dict[str, list[Any]] = {}
    with engine.connect() as conn:
        row_columns = [c for c in papers.c if c.name not in _WRITE_TIMES | {"pk"}]
        pk_to_id: dict[int, str] = {}
        for row in conn.execute(select(papers.c.pk, *row_columns)):
            pk_to_id[row[0]] = row[1]
            found[row[1]] = [repr(tuple(row[1:]))]
        for table in CHILD_TABLES:
            columns = [c for c in table.c if c.name != "paper_pk"]
            query = select(table.c.paper_pk, *columns).order_by(*table.primary_key.columns)
            for row in conn.execute(query):
                found[pk_to_id[row[0]]].append(f"{table.name}:{tuple(row[1:])!r}")
    return {paper_id: _hash(rows) for paper_id, rows in found.items()}


def ingest_process(
    database_url: str, path: Path, batch_size: int, *options: str, **popen: Any
) -> subprocess.Popen[bytes]:
    """A real `paperfeed ingest PATH --format jsonl [OPTIONS]` in its own process."""
    env = os.environ | {
        "PAPERFEED_DATABASE_URL": database_url,
        "PAPERFEED_INGEST_BATCH_SIZE": str(batch_size),
    }
    command = [sys.executable, "-m", "paperfeed", "ingest", str(path), "--format", "jsonl"]
    command += options
    popen.setdefault("stdout", subprocess.DEVNULL)
    popen.setdefault("stderr", subprocess.DEVNULL)
    return subprocess.Popen(command, env=env, **popen)


def run_ingest_process(database_url: str, path: Path, batch_size: int, *options: str) -> str:
    """Run an ingest process to the end; fail with its output unless it succeeds."""
    process = ingest_process(database_url, path, batch_size, *options, stderr=subprocess.PIPE)
    _, stderr = process.communicate(timeout=600)
    output = stderr.decode(errors="replace")
    assert process.returncode == 0, output
    return output
