"""SQL text for the hot paths of search and ingest: lists of keys as one bound parameter,
statements parsed once."""

from __future__ import annotations

import json
from collections.abc import Iterable
from functools import lru_cache
from typing import Any

from sqlalchemy import Connection, TextClause, text


def in_keys(
    conn: Connection, column: str, pks: Iterable[int], name: str = "keys"
) -> tuple[str, dict[str, Any]]:
    """``column IN (pks)`` with the keys in one bound parameter (a JSON array on SQLite, an
    array on PostgreSQL): the statement's text is the same for any number of keys, so it is
    compiled once and cached, where an IN list of 200 named parameters cost ~1 ms a query."""
    return _in_one_parameter(conn, column, [int(pk) for pk in pks], "bigint", name)


def in_texts(
    conn: Connection, column: str, values: Iterable[str], name: str = "texts"
) -> tuple[str, dict[str, Any]]:
    """``column IN (values)`` for text values, as ``in_keys``: ingest looks up each batch's ids
    this way (2,000 of them cost ~4x more as IN lists of 900)."""
    return _in_one_parameter(conn, column, [str(value) for value in values], "text", name)


def _in_one_parameter(
    conn: Connection, column: str, values: list[Any], pg_type: str, name: str
) -> tuple[str, dict[str, Any]]:
    if conn.dialect.name == "postgresql":
        return f"{column} = ANY(CAST(:{name} AS {pg_type}[]))", {name: values}
    return f"{column} IN (SELECT value FROM json_each(:{name}))", {name: json.dumps(values)}


@lru_cache(maxsize=512)
def sql_text(statement: str) -> TextClause:
    """``text(statement)``, cached: parsing the bind parameters was measured at ~1 ms a query."""
    return text(statement)
