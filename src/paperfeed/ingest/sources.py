"""Where records come from: a Source yields parsed items and says how far it has got.

File sources are parsed here; network sources (`arxiv:`, `oai:`, `hf-daily:`, URLs) live in
``paperfeed.ingest.net`` and implement the same protocol. A paged source yields a PageMark after
each page so a killed ingest can resume from that page instead of from the start.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Protocol

from paperfeed.ingest.formats import IngestError, Item, ParseOptions, get_parser

SNIFF_BYTES = 64 * 1024


@dataclass(frozen=True, slots=True)
class PageMark:
    """Every item yielded before this mark is covered by resuming at ``cursor``."""

    cursor: str


class Source(Protocol):
    label: str  # how the source is named to the user
    key: str  # stable identity of this input, for resume checkpoints
    size: int | None  # total bytes when known, for progress

    def items(self, cursor: str | None) -> Iterator[Item | PageMark]: ...

    def position(self) -> int:
        """Bytes consumed so far (for progress)."""
        ...


class _CountingReader(io.RawIOBase):
    """Counts the bytes read from the underlying (compressed) file, for progress."""

    def __init__(self, raw: BinaryIO) -> None:
        self.raw = raw
        self.count = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        data = self.raw.read(len(buffer))
        buffer[: len(data)] = data
        self.count += len(data)
        return len(data)


def open_maybe_gzip(raw: BinaryIO) -> BinaryIO:
    """Wrap ``raw`` in a decompressor when it starts with the gzip magic number."""
    buffered = io.BufferedReader(raw, buffer_size=1 << 20)  # type: ignore[arg-type]
    if buffered.peek(2)[:2] == b"\x1f\x8b":
        return gzip.GzipFile(fileobj=buffered)  # type: ignore[return-value]
    return buffered


def sniff(stream: BinaryIO) -> bytes:
    peek = getattr(stream, "peek", None)
    if peek is not None:
        return bytes(peek(SNIFF_BYTES)[:SNIFF_BYTES])
    return b""


class StreamSource:
    """A file, standard input or an in-memory body, in a given or detected format."""

    def __init__(
        self,
        label: str,
        opener: BinaryIO,
        fmt: str | None,
        options: ParseOptions,
        key: str,
        size: int | None = None,
    ) -> None:
        self.label, self.key, self.size = label, key, size
        self._counter = _CountingReader(opener)
        self._format = fmt
        self._options = options

    def position(self) -> int:
        return self._counter.count

    def items(self, cursor: str | None) -> Iterator[Item | PageMark]:
        stream = open_maybe_gzip(self._counter)  # type: ignore[arg-type]
        fmt = self._format or _detect(stream, self.label)
        yield from get_parser(fmt)(stream, self.label, self._options)


def _detect(stream: BinaryIO, label: str) -> str:
    from paperfeed.ingest.formats.detect import detect_format

    if hasattr(stream, "peek"):
        return detect_format(sniff(stream), label)
    # A gzip stream cannot peek: read the head through a buffer that keeps it.
    raise IngestError(f"{label}: cannot detect the format of this stream; pass --format")


def file_source(path: str, fmt: str | None, options: ParseOptions) -> StreamSource:
    if path == "-":
        data = sys.stdin.buffer
        return StreamSource("<stdin>", data, fmt, options, key=_key("stdin", fmt, options))
    file = Path(path)
    if not file.is_file():
        raise IngestError(f"{path}: no such file")
    stat = file.stat()
    # Path, size and mtime name this input: an edited file is a new source and starts over.
    key = _key(f"{file.resolve()}:{stat.st_size}:{stat.st_mtime_ns}", fmt, options)
    handle = open(file, "rb")  # noqa: SIM115 - closed when the process ends or GC runs
    return StreamSource(str(path), handle, fmt, options, key=key, size=stat.st_size)


def _key(identity: str, fmt: str | None, options: ParseOptions) -> str:
    text = f"{identity}|{fmt}|{options.featured_day}"
    return hashlib.sha256(text.encode()).hexdigest()


def bytes_source(label: str, body: bytes, fmt: str | None, options: ParseOptions) -> StreamSource:
    """A source over a body already in memory (a fetched URL)."""
    digest = hashlib.sha256(body).hexdigest()
    key = _key(f"{label}:{digest}", fmt, options)
    return StreamSource(label, io.BytesIO(body), fmt, options, key=key, size=len(body))

