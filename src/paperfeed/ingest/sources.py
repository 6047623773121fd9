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
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO, Protocol, cast

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

    def readinto(self, buffer: Any) -> int:
        data = self.raw.read(len(buffer))
        buffer[: len(data)] = data
        self.count += len(data)
        return len(data)


class _HeadThenRest(io.RawIOBase):
    """Replays a head already read from ``rest`` (for format detection), then the rest.

    Decompression errors surface here, mid-stream, so they become IngestErrors naming the source.
    """

    def __init__(self, head: bytes, rest: BinaryIO, label: str) -> None:
        self.head, self.rest, self.label = head, rest, label

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        if self.head:
            size = min(len(buffer), len(self.head))
            buffer[:size], self.head = self.head[:size], self.head[size:]
            return size
        data = _read_checked(self.rest, len(buffer), self.label)
        buffer[: len(data)] = data
        return len(data)


def _read_checked(stream: BinaryIO, size: int, label: str) -> bytes:
    try:
        return stream.read(size)
    except (EOFError, gzip.BadGzipFile, zlib.error) as error:
        raise IngestError(f"{label}: corrupt or truncated gzip data ({error})") from None


def open_stream(raw: BinaryIO, label: str) -> tuple[BinaryIO, bytes]:
    """The decompressed stream of ``raw`` (gzip is detected by its magic number) and its head."""
    buffered = io.BufferedReader(cast(io.RawIOBase, raw), buffer_size=1 << 20)
    inner: BinaryIO = buffered
    if buffered.peek(2)[:2] == b"\x1f\x8b":
        inner = cast(BinaryIO, gzip.GzipFile(fileobj=buffered))
    head = b""
    while len(head) < SNIFF_BYTES:
        chunk = _read_checked(inner, SNIFF_BYTES - len(head), label)
        if not chunk:
            break
        head += chunk
    replay = _HeadThenRest(head, inner, label)
    return cast(BinaryIO, io.BufferedReader(replay, buffer_size=1 << 20)), head


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
        path: str | None = None,
    ) -> None:
        self.label, self.key, self.size = label, key, size
        self._counter = _CountingReader(opener)
        self.format = fmt
        self.options = options
        self.path = path  # a file on disk, which another process can open too

    def position(self) -> int:
        return self._counter.count

    def items(self, cursor: str | None) -> Iterator[Item | PageMark]:
        from paperfeed.ingest.formats.detect import detect_format

        stream, head = open_stream(cast(BinaryIO, self._counter), self.label)
        fmt = self.format or detect_format(head, self.label)
        yield from get_parser(fmt)(stream, self.label, self.options)


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
    return StreamSource(str(path), handle, fmt, options, key=key, size=stat.st_size, path=path)


def _key(identity: str, fmt: str | None, options: ParseOptions) -> str:
    text = f"{identity}|{fmt}|{options.featured_day}"
    return hashlib.sha256(text.encode()).hexdigest()


def bytes_source(label: str, body: bytes, fmt: str | None, options: ParseOptions) -> StreamSource:
    """A source over a body already in memory (a fetched URL)."""
    digest = hashlib.sha256(body).hexdigest()
    key = _key(f"{label}:{digest}", fmt, options)
    return StreamSource(label, io.BytesIO(body), fmt, options, key=key, size=len(body))
