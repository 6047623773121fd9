"""Files that hold private data are created readable by their owner only (RELIABILITY 26).

The database (and SQLite's -wal and -shm, which take the database file's mode), the vector
index, backups and the secret key hold email addresses, password hashes and the key that signs
sessions: they are created 0600, and the folders paperfeed creates for them 0700, whatever the
umask. Files and folders that already exist keep the mode their owner gave them.
"""

from __future__ import annotations

import os
from pathlib import Path

PRIVATE_FILE = 0o600
PRIVATE_DIR = 0o700


def private_dir(path: Path) -> Path:
    """Create ``path`` and any missing parents 0700; return it. Existing folders are left."""
    missing = [folder for folder in (path, *path.parents) if not folder.exists()]
    for folder in reversed(missing):
        try:
            folder.mkdir(mode=PRIVATE_DIR)
        except FileExistsError:  # made meanwhile by another process: theirs to keep
            continue
        os.chmod(folder, PRIVATE_DIR)  # mkdir's mode passes through the umask
    return path


def touch_private(path: Path) -> None:
    """Create ``path`` empty and 0600 unless it exists (so SQLite opens a file of that mode)."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, PRIVATE_FILE)
    except FileExistsError:
        return
    os.fchmod(fd, PRIVATE_FILE)
    os.close(fd)


def tighten(paths: list[Path]) -> list[Path]:
    """Make those of ``paths`` that others may read 0600 (files made by older versions, which
    were 0644); return the ones changed."""
    changed = []
    for path in paths:
        try:
            if os.stat(path).st_mode & 0o077:
                os.chmod(path, PRIVATE_FILE)
                changed.append(path)
        except FileNotFoundError:
            continue
    return changed


def fsync(path: Path) -> None:
    """Flush ``path`` (a file, or a folder after a rename in it) to disk."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_private(path: Path, data: bytes) -> None:
    """Replace ``path`` with ``data`` atomically, as a 0600 file, synced to disk."""
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, PRIVATE_FILE)
    try:
        os.fchmod(fd, PRIVATE_FILE)
        os.write(fd, data)
        os.fsync(fd)
    finally:
        os.close(fd)
    try:
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
