"""CSV with a header row: the same fields as JSON lines (see ``jsonl.flat_record``).

UTF-8 with or without a byte-order mark; the delimiter (comma, tab or semicolon) is the one that
makes the header name a ``title`` column. Authors are separated by ";" or " and ".
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from itertools import chain
from typing import BinaryIO

from paperfeed.domain import RecordError
from paperfeed.ingest.formats import IngestError, Item, ParseOptions
from paperfeed.ingest.formats import fields as f
from paperfeed.ingest.formats.jsonl import MAX_LINE, flat_record

DELIMITERS = (",", "\t", ";")
_MAX_ERRORS_IN_A_ROW = 1000  # a reader that only fails is not reading a CSV any more


def parse(stream: BinaryIO, name: str, options: ParseOptions) -> Iterator[Item]:
    """Yield a record (or a RecordError) for every data row."""
    text = io.TextIOWrapper(stream, encoding="utf-8-sig", errors="strict", newline="")
    try:
        yield from _rows(text, name)
    except UnicodeDecodeError as error:
        raise IngestError(f"{name}: not UTF-8 text ({error.reason})") from None
    except f.STREAM_ERRORS as error:
        raise f.unreadable(name, error) from None
    finally:
        text.detach()  # the caller owns the stream


def _rows(text: io.TextIOWrapper, name: str) -> Iterator[Item]:
    header_line = text.readline(MAX_LINE)
    delimiter = header_delimiter(header_line)
    if delimiter is None:
        raise IngestError(f"{name}: CSV needs a header row naming a 'title' column")
    # strict: a quote left open at the end, or text after a closing quote, is an error, not a
    # cell that silently swallows the rest of the file.
    reader = csv.reader(chain([header_line], text), delimiter=delimiter, strict=True)
    try:
        columns = [_column(cell) for cell in next(reader)]
    except csv.Error as error:
        raise IngestError(f"{name}: unreadable CSV header ({error})") from None
    last_line, failures = reader.line_num, 0
    while True:
        location = f"{name} line {last_line + 1}"
        try:
            cells = next(reader)
        except StopIteration:
            return
        except csv.Error as error:
            failures += 1
            if failures > _MAX_ERRORS_IN_A_ROW:
                raise IngestError(f"{name}: too many unreadable CSV rows") from None
            yield RecordError(location, f"invalid CSV: {error}")
            last_line = reader.line_num
            continue
        failures, last_line = 0, reader.line_num
        if any(cell.strip() for cell in cells):
            yield _record(columns, cells, location)


def _record(columns: list[str], cells: list[str], location: str) -> Item:
    if len(cells) > len(columns):
        return RecordError(location, f"{len(cells)} cells but {len(columns)} header columns")
    row = dict(zip(columns, cells, strict=False))
    try:
        return flat_record(row, location, comma_authors=False)
    except f.FieldError as error:
        return RecordError(location, str(error))


def header_delimiter(line: str) -> str | None:
    """The delimiter under which ``line`` is a header with a ``title`` column, if any."""
    for delimiter in DELIMITERS:
        if delimiter not in line and delimiter != ",":
            continue
        try:
            cells = next(csv.reader([line], delimiter=delimiter), [])
        except csv.Error:
            continue
        if "title" in (_column(cell) for cell in cells):
            return delimiter
    return None


def _column(cell: str) -> str:
    return cell.strip().lstrip("\ufeff").lower()
