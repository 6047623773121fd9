"""Bulk row writers for ingest: many rows in one round trip, on the caller's transaction.

SQLAlchemy's executemany turns every row into a dict and through its type processors, and its
``INSERT ... RETURNING`` goes one row per statement on SQLite: at millions of papers that, not
the database, is most of the time. These writers take plain tuples instead. Paper keys are
reserved up front (``reserve_pks``) so that children can be written without reading back the
rows just inserted: on SQLite the writer holds the write lock (BEGIN IMMEDIATE), so the next
keys are max(pk)+1..; on PostgreSQL they come from the column's sequence. Then SQLite takes the
rows by multi-row ``INSERT ... VALUES`` (see ``SqliteWriter.insert``), PostgreSQL by ``COPY``.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from datetime import date, datetime
from typing import Any, Protocol

from sqlalchemy import Connection, Table

Row = tuple[Any, ...]

# Rows per multi-row INSERT on SQLite: enough that per-statement costs vanish, few enough that
# the prepared statements sqlite3 caches stay small (1,900 rows of papers took ~80 MiB).
_ROWS_PER_STATEMENT = 500


class BulkWriter(Protocol):
    """Writes rows of one backend; ``day`` and ``moment`` encode dates and times for it."""

    def day(self, value: date | None) -> Any: ...

    def moment(self, value: datetime) -> Any: ...

    def reserve_pks(self, table: Table, count: int) -> list[int]: ...

    def insert(self, table: Table, columns: Sequence[str], rows: Sequence[Row]) -> None: ...

    def update(self, table: Table, columns: Sequence[str], key: str, rows: Sequence[Row]) -> None:
        """Set ``columns`` of the row whose ``key`` is the last value of each row."""
        ...


def writer_for(conn: Connection) -> BulkWriter:
    if conn.dialect.name == "sqlite":
        return SqliteWriter(conn)
    if conn.dialect.name == "postgresql":
        return PostgresWriter(conn)
    raise ValueError(f"unsupported database {conn.dialect.name!r}: use SQLite or PostgreSQL")


class _DriverSqlWriter:
    """Statements through ``exec_driver_sql``: the same connection and transaction, no per-row
    SQLAlchemy work."""

    param_marker = "?"

    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def _marks(self, count: int) -> str:
        return ", ".join([self.param_marker] * count)

    def insert(self, table: Table, columns: Sequence[str], rows: Sequence[Row]) -> None:
        if rows:
            names = ", ".join(columns)
            sql = f"INSERT INTO {table.name} ({names}) VALUES ({self._marks(len(columns))})"
            self.conn.exec_driver_sql(sql, list(rows))

    def update(self, table: Table, columns: Sequence[str], key: str, rows: Sequence[Row]) -> None:
        if rows:
            sets = ", ".join(f"{name} = {self.param_marker}" for name in columns)
            sql = f"UPDATE {table.name} SET {sets} WHERE {key} = {self.param_marker}"
            self.conn.exec_driver_sql(sql, list(rows))


class SqliteWriter(_DriverSqlWriter):
    def day(self, value: date | None) -> str | None:
        return None if value is None else value.isoformat()

    def moment(self, value: datetime) -> str:
        # The text SQLAlchemy's SQLite DateTime writes and parses back: no offset, microseconds.
        return value.strftime("%Y-%m-%d %H:%M:%S.%f")

    def reserve_pks(self, table: Table, count: int) -> list[int]:
        key = table.primary_key.columns[0].name
        result = self.conn.exec_driver_sql(f"SELECT coalesce(max({key}), 0) FROM {table.name}")
        last = int(result.scalar_one())
        return list(range(last + 1, last + 1 + count))

    def insert(self, table: Table, columns: Sequence[str], rows: Sequence[Row]) -> None:
        """Many rows per statement (multi-row VALUES), not one statement per row.

        FTS5 writes its pending index data out at every statement savepoint, and each
        execution of a statement whose triggers write to papers_fts opens one: row by row
        (``executemany``), every paper became its own tiny index segment to be merged later,
        and indexing cost twice as much.
        """
        if not rows:
            return
        width = len(columns)
        per_statement = max(1, min(_ROWS_PER_STATEMENT, self._variable_limit() // width))
        names = ", ".join(columns)
        one_row = f"({self._marks(width)})"
        for start in range(0, len(rows), per_statement):
            chunk = rows[start : start + per_statement]
            values = ", ".join([one_row] * len(chunk))
            flat = [value for row in chunk for value in row]
            self.conn.exec_driver_sql(
                f"INSERT INTO {table.name} ({names}) VALUES {values}", tuple(flat)
            )

    def _variable_limit(self) -> int:
        driver = self.conn.connection.driver_connection
        return int(driver.getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER))  # type: ignore[union-attr]


class PostgresWriter(_DriverSqlWriter):
    param_marker = "%s"

    def day(self, value: date | None) -> date | None:
        return value  # psycopg adapts dates and aware datetimes itself

    def moment(self, value: datetime) -> datetime:
        return value

    def reserve_pks(self, table: Table, count: int) -> list[int]:
        key = table.primary_key.columns[0].name
        sql = (
            f"SELECT nextval(pg_get_serial_sequence('{table.name}', '{key}')) "
            "FROM generate_series(1, %(n)s)"
        )
        return [int(pk) for pk in self.conn.exec_driver_sql(sql, {"n": count}).scalars()]

    def insert(self, table: Table, columns: Sequence[str], rows: Sequence[Row]) -> None:
        if not rows:
            return
        # COPY is PostgreSQL's bulk path: one stream, no per-row statement or round trip.
        cursor = self.conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
        with cursor, cursor.copy(f"COPY {table.name} ({', '.join(columns)}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
