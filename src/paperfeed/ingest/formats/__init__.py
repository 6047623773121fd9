"""Source formats; each module exposes ``parse(stream, name, options) -> Iterator[Item]``.

``stream`` is a binary file object; ``name`` is how the source is named in error messages
(a path or URL); ``options`` carries what the user said on the command line. A parser yields
a RecordError for a record it cannot read and goes on with the next one when it can; it raises
IngestError when the input as a whole is unreadable.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date
from typing import BinaryIO

from paperfeed.domain import PaperRecord, RecordError

Item = PaperRecord | RecordError


@dataclass(frozen=True, slots=True)
class ParseOptions:
    """``featured_day``: the day a dated page's papers were featured (`--date`), overriding
    the page's own date line; ``today`` anchors a date line without a year (the latest such
    day not after it)."""

    featured_day: date | None = None
    today: date | None = None


Parser = Callable[[BinaryIO, str, ParseOptions], Iterator[Item]]

FORMAT_NAMES = ("page", "arxiv-json", "arxiv-atom", "oai", "hf-daily", "jsonl", "csv", "bibtex")


class IngestError(Exception):
    """The source as a whole cannot be read; the message names what and where."""


def get_parser(name: str) -> Parser:
    """The parser for a format name (imported lazily: each pulls in its own dependencies)."""
    from importlib import import_module

    if name not in FORMAT_NAMES:
        raise IngestError(f"unknown format {name!r}; choose one of: {', '.join(FORMAT_NAMES)}")
    module = import_module(f"paperfeed.ingest.formats.{name.replace('-', '_')}")
    parser: Parser = module.parse
    return parser
