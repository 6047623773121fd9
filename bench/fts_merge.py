"""The lexical index alone: what FTS5's merge policy and statement size cost a bulk load.

Replays titles and abstracts of the bulk-ingest input (made on first use, as for
``bench/ingest.py``) into a table shaped like ``papers`` (its key, title and abstract) with the
migration's external-content FTS5 table and insert trigger, in transactions of 2,000 rows and
multi-row INSERTs of ``--rows-per-statement`` rows (each statement writes one FTS5 segment).
Prints process CPU µs per row for the load, and for a final ``optimize`` when asked. No ingest
code runs here: this isolates SQLite's own work.

    .venv/bin/python bench/fts_merge.py --records 1000000 --automerge 4 --rows-per-statement 500
    .venv/bin/python bench/fts_merge.py --records 1000000 --automerge 16 \
        --rows-per-statement 1900 --optimize
"""

from __future__ import annotations

import argparse
import sqlite3
import tempfile
import time
from pathlib import Path

import orjson

from make_arxiv_snapshot import ensure_snapshot  # bench/ on sys.path when run as a script

OUT = Path(__file__).resolve().parent / "out"
BATCH = 2000

SCHEMA = (
    "CREATE TABLE papers(pk INTEGER PRIMARY KEY, title TEXT, abstract TEXT)",
    """CREATE VIRTUAL TABLE papers_fts USING fts5(title, abstract, content='papers',
        content_rowid='pk', tokenize='porter unicode61 remove_diacritics 2')""",
    """CREATE TRIGGER papers_fts_insert AFTER INSERT ON papers BEGIN
        INSERT INTO papers_fts(rowid, title, abstract) VALUES (new.pk, new.title, new.abstract);
    END""",
)


def read_rows(records: int) -> list[tuple[int, str, str]]:
    rows = []
    with ensure_snapshot(records, OUT).open("rb") as lines:
        for pk, line in enumerate(lines, start=1):
            record = orjson.loads(line)
            rows.append((pk, record["title"], record["abstract"]))
    return rows


def load(conn: sqlite3.Connection, rows: list[tuple[int, str, str]], per_statement: int) -> None:
    for start in range(0, len(rows), BATCH):
        batch = rows[start : start + BATCH]
        conn.execute("BEGIN")
        for first in range(0, len(batch), per_statement):
            chunk = batch[first : first + per_statement]
            values = ", ".join(["(?, ?, ?)"] * len(chunk))
            conn.execute(f"INSERT INTO papers VALUES {values}", [v for row in chunk for v in row])
        conn.execute("COMMIT")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=100_000)
    parser.add_argument("--automerge", type=int, default=4, help="FTS5 automerge (default 4)")
    parser.add_argument("--rows-per-statement", type=int, default=500)
    parser.add_argument("--optimize", action="store_true", help="then merge into one segment")
    args = parser.parse_args()
    rows = read_rows(args.records)
    with tempfile.TemporaryDirectory(dir=OUT) as scratch:
        conn = sqlite3.connect(Path(scratch) / "fts.db", isolation_level=None)
        for pragma in ("journal_mode=WAL", "synchronous=NORMAL", "cache_size=-65536"):
            conn.execute(f"PRAGMA {pragma}")
        for statement in SCHEMA:
            conn.execute(statement)
        conn.execute(
            "INSERT INTO papers_fts(papers_fts, rank) VALUES ('automerge', ?)", (args.automerge,)
        )
        started = time.process_time()
        load(conn, rows, args.rows_per_statement)
        loaded = time.process_time()
        if args.optimize:
            conn.execute("INSERT INTO papers_fts(papers_fts) VALUES ('optimize')")
        finished = time.process_time()
        conn.close()
    per_row = 1e6 / len(rows)
    print(
        f"{len(rows):,} rows, automerge {args.automerge}, {args.rows_per_statement} rows a "
        f"statement: load {per_row * (loaded - started):.1f} CPU µs/row, optimize "
        f"{per_row * (finished - loaded):.1f}, total {per_row * (finished - started):.1f}"
    )
    optimize = " --optimize" if args.optimize else ""
    print(
        f"reproduce: .venv/bin/python bench/fts_merge.py --records {args.records} --automerge "
        f"{args.automerge} --rows-per-statement {args.rows_per_statement}{optimize}"
    )


if __name__ == "__main__":
    main()
