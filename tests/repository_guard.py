"""Tests read only the repository's own files: opening a file beside the clone fails at once.

A clone alone must pass ``make test``; on a developer's machine the shared data folder sits
beside the repository, so a test that reads it passes there and fails everywhere else. An
audit hook (PEP 578) sees every ``open`` of this Python process, the opens at collection
included, and refuses one whose path lies beside the repository: under the repository's
parent, yet outside the repository, the temporary directory and Python's own folders.
Child processes (a ``paperfeed ingest`` a test starts) open only what the test hands them.
"""

from __future__ import annotations

import os
import site
import sys
import sysconfig
import tempfile
from pathlib import Path


class ReadBesideTheRepository(RuntimeError):
    """Not an OSError, so that code which copes with a missing file does not swallow it."""


class Guard:
    def __init__(self, repository: Path) -> None:
        self.repository = os.path.realpath(repository)
        self.parent = os.path.dirname(self.repository)

    def is_beside(self, path: str) -> bool:
        """True if ``path`` is under the repository's parent but in none of the allowed places."""
        path = os.path.abspath(path)
        if not _within(path, self.parent) or _within(path, self.repository):
            return False  # the common case, decided without touching the disk
        path = os.path.realpath(path)
        return _within(path, self.parent) and not any(
            _within(path, place) for place in (self.repository, *self._allowed())
        )

    def audit(self, event: str, args: tuple[object, ...]) -> None:
        if event != "open" or not isinstance(args[0], str | bytes | os.PathLike):
            return  # an open of a file descriptor, or no open at all
        path = os.fsdecode(args[0])
        if self.is_beside(path):
            raise ReadBesideTheRepository(
                f"a test opened {os.path.abspath(path)}, beside the repository: tests read only "
                "the repository's files (derive a fixture with scripts/make_test_fixtures.py)"
            )

    def _allowed(self) -> list[str]:
        """Places beside the repository a test may read: the interpreter and its packages (a
        virtual environment next to the clone), what is on sys.path, the temporary directory.
        A folder that holds the repository's parent (sys.path's "" in it, "/") allows nothing;
        the temporary directory always is allowed (a clone inside it is not guarded)."""
        places = [sys.prefix, sys.base_prefix, sys.exec_prefix, *sys.path]
        places += [*sysconfig.get_paths().values(), *site.getsitepackages()]
        python = [os.path.realpath(p) for p in places if p]
        return [p for p in python if not _within(self.parent, p)] + [
            os.path.realpath(tempfile.gettempdir())
        ]


guard: Guard | None = None  # the one the audit hook asks; a test may put another in its place


def install(repository: Path) -> None:
    """Guard ``repository`` in this process from now on (audit hooks stay for its life)."""
    global guard
    if guard is None:
        sys.addaudithook(lambda event, args: guard.audit(event, args) if guard else None)
    guard = Guard(repository)


def _within(path: str, folder: str) -> bool:
    return path == folder or path.startswith(folder.rstrip(os.sep) + os.sep)
