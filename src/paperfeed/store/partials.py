"""Half-written files of a backup or restore, which nothing may leave behind.

They live in a dedicated folder beside their destination (``.paperfeed-partial``: the same file
system, so the final rename is atomic), are created 0600 and are held with ``flock`` while being
written. Three things remove them:
- the writer itself, on any error or interrupt it can see (exceptions, Ctrl-C);
- a watcher process started with them, when the writer dies without saying it is done
  (``kill -9``, the OOM killer): it waits on a pipe that only the writer's death closes;
- the next backup or restore into that folder, which removes every partial no live writer holds
  (when the watcher was killed as well, or the machine lost power).
The folder is removed with its last partial.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import subprocess
import sys
from pathlib import Path
from types import TracebackType

from paperfeed.private_files import PRIVATE_FILE, private_dir

FOLDER = ".paperfeed-partial"
SUFFIX = ".partial"
# What SQLite may make beside a database it writes: they go with the partial.
COMPANIONS = ("", "-journal", "-wal", "-shm")
_DONE = "done"

# The watcher: reads the paths to remove, one a line; "done" means the writer finished (it
# removes what is left itself); end of input without "done" means the writer died.
_WATCHER = f"""
import os, sys
paths = []
for line in sys.stdin:
    if line.rstrip("\\n") == {_DONE!r}:
        sys.exit(0)
    paths.append(line.rstrip("\\n"))
for path in paths:
    for companion in {COMPANIONS!r}:
        try:
            os.unlink(path + companion)
        except OSError:
            pass
if paths:
    try:
        os.rmdir(os.path.dirname(paths[0]))
    except OSError:
        pass
"""


class Partials:
    """The partial files of one backup or restore into ``beside``'s folder (a context)."""

    def __init__(self, beside: Path) -> None:
        self.folder = beside / FOLDER
        self.paths: list[Path] = []
        self._fds: list[int] = []
        self._watcher: subprocess.Popen[str] | None = None

    def __enter__(self) -> Partials:
        private_dir(self.folder)
        remove_stale(self.folder)
        self._watcher = subprocess.Popen(
            [sys.executable, "-c", _WATCHER],
            stdin=subprocess.PIPE,
            text=True,
            start_new_session=True,  # not stopped by the Ctrl-C meant for the writer
        )
        return self

    def new(self, name: str) -> Path:
        """An empty 0600 partial file for ``name``, held until the context ends."""
        path = self.folder / f"{name}.{os.getpid()}{SUFFIX}"
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_TRUNC, PRIVATE_FILE)
        fcntl.flock(fd, fcntl.LOCK_EX)
        self._fds.append(fd)
        self.paths.append(path)
        assert self._watcher is not None and self._watcher.stdin is not None
        self._watcher.stdin.write(f"{path}\n")
        self._watcher.stdin.flush()
        return path

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        for path in self.paths:  # those renamed into place are gone already
            _remove(path)
        for fd in self._fds:
            os.close(fd)
        if self._watcher is not None:
            with contextlib.suppress(OSError):
                assert self._watcher.stdin is not None
                self._watcher.stdin.write(f"{_DONE}\n")
                self._watcher.stdin.close()
            self._watcher.wait()
        with contextlib.suppress(OSError):  # not empty: another writer's partials are there
            self.folder.rmdir()


def remove_stale(folder: Path) -> None:
    """Remove the partials in ``folder`` that no running writer holds."""
    for path in folder.glob(f"*{SUFFIX}"):
        try:
            fd = os.open(path, os.O_RDONLY)
        except FileNotFoundError:
            continue
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            continue  # a live backup or restore is writing it
        finally:
            os.close(fd)
        _remove(path)


def _remove(path: Path) -> None:
    for companion in COMPANIONS:
        Path(f"{path}{companion}").unlink(missing_ok=True)
