"""Parse and prepare a file source in a second process, so that the ingesting process only writes.

A bulk ingest spends about as much CPU in Python (parsing, checking, building rows) as in the
database. Threads cannot share that out (the GIL), so a child process reads the file and sends
finished records over a pipe, a chunk at a time: each record is prepared and carries the rows of
the paper it makes on its own (``Prepared.rows``), ready for the store's insert. The parent's
loop is the same as for an in-process source: it batches, commits and checkpoints, so resuming
and error handling do not change. Records arrive in file order; the child works up to
AHEAD_CHUNKS ahead of what the parent has read.

Chunks are ``marshal``-encoded tuples of plain values. Pickling the dataclasses cost ~42 µs a
record in all, as much as parsing; this costs ~25, and a record's own fields (sent as bytes) are
decoded only when the record has to be merged.
"""

from __future__ import annotations

import marshal
import os
import queue
import struct
import subprocess
import sys
import tempfile
import threading
import traceback
from collections.abc import Callable, Iterator
from contextlib import suppress
from datetime import date
from functools import partial
from typing import Any, BinaryIO

from paperfeed.domain import Link, PaperRecord, RecordError, Version
from paperfeed.ingest.formats import IngestError, ParseOptions
from paperfeed.ingest.gc_tuning import tune_gc_for_a_one_shot_batch_job
from paperfeed.ingest.normalise import Prepared, prepare
from paperfeed.ingest.sources import PageMark, Source, StreamSource, file_source
from paperfeed.ingest.upsert import own_rows
from paperfeed.store.papers import PaperRows, iso_day

try:
    import fcntl
except ImportError:  # not POSIX: the pipe keeps its size
    fcntl = None  # type: ignore[assignment]

CHUNK_RECORDS = 200  # ~0.7 MB of arXiv records: a chunk fits in a widened pipe (_widen_pipe)
AHEAD_CHUNKS = 40  # chunks the child may prepare beyond what the parent has read (~28 MB)
# The child's main thread parses without pause; its sender thread needs the GIL between the
# writes of each chunk, and waited up to the default 5 ms for it each time: the parent, ready
# for more, waited ~10% of a 1M-record load (BENCHMARKS.md).
CHILD_SWITCH_INTERVAL_S = 0.0005
# Below this a file is read in-process: starting the child (~0.5 s of imports) would not pay.
PARALLEL_MIN_BYTES = 32 * 2**20
_RECORD, _ERROR, _SKIPPED, _END, _FAILED = range(5)
_HEADER = struct.Struct("<Q")  # a message's length

Resumed = None  # stands for a record skipped because an earlier run committed it
Entry = Prepared | RecordError | None


def feeder_for(source: Source, skip: int, parallel: bool | None) -> Feeder | None:
    """A Feeder for ``source`` when it is a file and parsing apart pays (or is asked for)."""
    if not isinstance(source, StreamSource) or source.path is None or parallel is False:
        return None
    if parallel is None and ((os.cpu_count() or 1) < 2 or (source.size or 0) < PARALLEL_MIN_BYTES):
        return None
    return Feeder(source.path, source.format, source.options, skip)


class Feeder:
    """The prepared records of the file ``path`` from a child process, in order.

    Iterating yields, for every record of the file: ``None`` for each of the first ``skip``
    (committed by an earlier run, not prepared again), then its Prepared or its RecordError.
    ``position`` is how many bytes of the file the child has read.

    The child is ``python -m paperfeed.ingest.feeder``, not a multiprocessing child: those
    re-import the caller's main script, which breaks a script that calls ``run_ingest`` at
    its top level. Messages come over the child's standard output, each one its length (8
    bytes) and a marshal payload; its standard error goes to a file, quoted if it fails.
    """

    def __init__(self, path: str, fmt: str | None, options: ParseOptions, skip: int) -> None:
        self.position = 0
        self._errors = tempfile.TemporaryFile()  # noqa: SIM115 - closed by close()
        command = [sys.executable, "-m", "paperfeed.ingest.feeder", path, fmt or "", str(skip)]
        command += [_iso(options.featured_day), _iso(options.today)]
        # The child finds paperfeed where this process found it.
        env = os.environ | {"PYTHONPATH": os.pathsep.join(p for p in sys.path if p)}
        self._process = subprocess.Popen(
            command, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=self._errors, env=env
        )
        assert self._process.stdout is not None
        self._stream = self._process.stdout

    def __iter__(self) -> Iterator[Entry]:
        try:
            while True:
                kind, position, payload = marshal.loads(self._receive())
                self.position = position
                if kind == _END:
                    return
                if kind == _FAILED:
                    raise IngestError(payload)
                if kind == _SKIPPED:
                    yield from [Resumed] * payload
                    continue
                for entry in payload:
                    yield _decode(entry)
        finally:
            self.close()

    def _receive(self) -> bytes:
        header = self._stream.read(_HEADER.size)
        message = (
            self._stream.read(_HEADER.unpack(header)[0]) if len(header) == _HEADER.size else b""
        )
        if not message:
            code = self._process.wait(timeout=5)
            raise IngestError(
                f"the parser process stopped unexpectedly (exit code {code}){self._said()}"
            )
        return message

    def _said(self) -> str:
        self._errors.seek(0)
        tail = self._errors.read()[-2000:].decode(errors="replace").strip()
        return f":\n{tail}" if tail else ""

    def close(self) -> None:
        self._stream.close()
        if self._process.poll() is None:
            self._process.terminate()
        self._process.wait()
        self._errors.close()


def _produce(
    sending: BinaryIO, path: str, fmt: str | None, options: ParseOptions, skip: int
) -> None:
    """The child: read, prepare and encode every record of ``path``; report failures.

    A sender thread writes the chunks to the pipe, so that the child keeps preparing while the
    parent is busy in the database and not reading: up to AHEAD_CHUNKS wait in between.
    """
    tune_gc_for_a_one_shot_batch_job()  # the child lives only as long as the ingest
    sys.setswitchinterval(CHILD_SWITCH_INTERVAL_S)
    _widen_pipe(sending)
    source = file_source(path, fmt, options)
    outbox: queue.Queue[bytes | None] = queue.Queue(maxsize=AHEAD_CHUNKS)
    sender = threading.Thread(target=_send_all, args=(outbox, sending), daemon=True)
    sender.start()

    def send(kind: int, payload: Any) -> None:
        _put(outbox, sender, marshal.dumps((kind, source.position(), payload)))

    try:
        _read(source, skip, send)
    except (BrokenPipeError, KeyboardInterrupt):
        pass
    except IngestError as error:
        send(_FAILED, str(error))
    except Exception:  # the parent reports it: a traceback left in the child is lost
        send(_FAILED, f"{path}: the parser failed:\n{traceback.format_exc()}")
    finally:
        with suppress(BrokenPipeError):
            _put(outbox, sender, None)
            sender.join()
        os._exit(0)  # skip interpreter teardown: nothing of the child needs saving


def _widen_pipe(sending: BinaryIO) -> None:
    """Let the pipe hold a whole chunk (Linux; 64 KiB by default), so that the sender writes it
    at once instead of 64 KiB at a time, each waiting for the parent to read and for the GIL."""
    if fcntl is None or not hasattr(fcntl, "F_SETPIPE_SZ"):
        return
    try:
        with open("/proc/sys/fs/pipe-max-size") as limit:
            size = min(int(limit.read()), 4 * 2**20)
        fcntl.fcntl(sending.fileno(), fcntl.F_SETPIPE_SZ, size)
    except (OSError, ValueError):
        pass  # not a pipe, or no limit to read: only slower


def _put(outbox: queue.Queue[bytes | None], sender: threading.Thread, message: Any) -> None:
    """Queue ``message`` for the sender; BrokenPipeError once the sender has stopped (its pipe
    broke: the parent is gone), instead of waiting on a full queue forever."""
    while True:
        if not sender.is_alive():
            raise BrokenPipeError
        try:
            outbox.put(message, timeout=0.5)
            return
        except queue.Full:
            continue


def _read(source: StreamSource, skip: int, send: Callable[[int, Any], None]) -> None:
    seen, skipped, chunk = 0, 0, []
    for item in source.items(None):
        if isinstance(item, PageMark):  # file sources have none
            continue
        seen += 1
        if seen <= skip:
            skipped += 1
            if skipped == CHUNK_RECORDS or seen == skip:
                send(_SKIPPED, skipped)
                skipped = 0
            continue
        chunk.append(_encode(item))
        if len(chunk) == CHUNK_RECORDS:
            send(_RECORD, chunk)
            chunk = []
    send(_SKIPPED, skipped)
    send(_RECORD, chunk)
    send(_END, None)


def _send_all(outbox: queue.Queue[bytes | None], sending: BinaryIO) -> None:
    try:
        while (message := outbox.get()) is not None:
            sending.write(_HEADER.pack(len(message)))
            sending.write(message)
            sending.flush()
    except OSError:  # the parent closed its end (or is gone)
        pass
    finally:
        with suppress(OSError):
            sending.close()


def _encode(item: PaperRecord | RecordError) -> tuple[Any, ...]:
    """A record as plain values: its id, title key, rows, and the record itself as bytes, to be
    decoded only if the parent has to merge it."""
    if isinstance(item, RecordError):
        return (_ERROR, item.location, item.reason)
    prepared = prepare(item)
    if isinstance(prepared, RecordError):
        return (_ERROR, prepared.location, prepared.reason)
    record = prepared.record
    rows = own_rows(prepared, iso_day)
    fields = (
        record.title,
        record.abstract,
        record.id,
        record.authors,
        record.categories,
        _day(record.published),
        _day(record.updated),
        [(v.number, _day(v.created)) for v in record.versions],
        record.doi,
        record.journal_ref,
        record.comment,
        [(link.kind, link.url, link.stars) for link in record.links],
        _day(record.featured_day),
        record.submitter,
        record.upvotes,
        record.ai_summary,
        record.ai_keywords,
        record.location,
    )
    return (
        _RECORD,
        prepared.id,
        prepared.title_key,
        prepared.brings_activity,
        (rows.paper, rows.authors, rows.categories, rows.versions, rows.links),
        marshal.dumps(fields),
    )


def _decode(entry: tuple[Any, ...]) -> Prepared | RecordError:
    if entry[0] == _ERROR:
        return RecordError(entry[1], entry[2])
    _, paper_id, key, activity, rows, fields = entry
    load = partial(_decode_record, fields)
    return Prepared(paper_id, key, rows=PaperRows(*rows), load=load, brings_activity=activity)


def _decode_record(encoded: bytes) -> PaperRecord:
    fields = marshal.loads(encoded)
    (title, abstract, rid, authors, categories, published, updated, versions) = fields[:8]
    (doi, journal_ref, comment, links, featured, submitter, upvotes) = fields[8:15]
    (ai_summary, ai_keywords, location) = fields[15:]
    return PaperRecord(
        title=title,
        abstract=abstract,
        id=rid,
        authors=authors,
        categories=categories,
        published=_date(published),
        updated=_date(updated),
        versions=[Version(number, _date(created)) for number, created in versions],
        doi=doi,
        journal_ref=journal_ref,
        comment=comment,
        links=[Link(kind, url, stars) for kind, url, stars in links],
        featured_day=_date(featured),
        submitter=submitter,
        upvotes=upvotes,
        ai_summary=ai_summary,
        ai_keywords=ai_keywords,
        location=location,
    )


def _day(value: date | None) -> int | None:
    return None if value is None else value.toordinal()


def _date(value: int | None) -> date | None:
    return None if value is None else date.fromordinal(value)


def _iso(day: date | None) -> str:
    return day.isoformat() if day else ""


def _main(argv: list[str]) -> None:
    path, fmt, skip, featured, today = argv
    options = ParseOptions(
        featured_day=date.fromisoformat(featured) if featured else None,
        today=date.fromisoformat(today) if today else None,
    )
    messages = sys.stdout.buffer
    sys.stdout = sys.stderr  # a stray print must not break the stream of messages
    _produce(messages, path, fmt or None, options, int(skip))


if __name__ == "__main__":
    _main(sys.argv[1:])
