"""Put a backup made by ``store.backup`` back in place: the database and its secret key.

SQLite: the backup is checked, copied beside the database as a 0600 partial file and renamed
over it; the old ``-wal`` and ``-shm`` go first (SQLite would replay a stale WAL into the
restored file). PostgreSQL: ``pg_restore --clean`` into the configured database, in one
transaction. Then ``BACKUP.key`` replaces the secret key file, so links in mail sent before the
backup still verify. The site must be stopped meanwhile (serve, worker).
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
from pathlib import Path

from sqlalchemy import Engine, text

from paperfeed.private_files import fsync, private_dir, write_private
from paperfeed.store.backup import BackupError, find_pg_tool, key_file
from paperfeed.store.engine import sqlite_file
from paperfeed.store.partials import Partials


def restore(engine: Engine, source: Path, secret_key_file: Path) -> bool:
    """Replace the database behind ``engine`` with the backup ``source``, and
    ``secret_key_file`` with the backup's key; whether the backup had a key."""
    if not source.is_file():
        raise BackupError(f"there is no backup at {source}")
    engine.dispose()  # no pooled connection may outlive the file it was opened on
    try:
        if engine.dialect.name == "sqlite":
            _restore_sqlite(engine, source)
        elif engine.dialect.name == "postgresql":
            _pg_restore(engine, source)
        else:
            raise BackupError(f"cannot restore a {engine.dialect.name} database")
        return _restore_key(source, secret_key_file)
    except (OSError, sqlite3.Error) as error:
        raise BackupError(f"could not restore {source}: {error}") from error


def _restore_sqlite(engine: Engine, source: Path) -> None:
    target = sqlite_file(engine.url)
    if target is None:
        raise BackupError("this SQLite database is not a file that a backup can replace")
    private_dir(target.parent)
    with Partials(target.parent) as partials:
        copy = partials.new(target.name)
        shutil.copyfile(source, copy)  # into the 0600 partial: its mode stays
        with sqlite3.connect(f"file:{copy}?mode=ro", uri=True) as check:
            if check.execute("PRAGMA integrity_check").fetchone() != ("ok",):
                raise BackupError(f"{source} is not a sound SQLite database")
        check.close()
        fsync(copy)
        for stale in ("-wal", "-shm"):
            Path(f"{target}{stale}").unlink(missing_ok=True)
        os.replace(copy, target)
        fsync(target.parent)


def _pg_restore(engine: Engine, source: Path) -> None:
    with engine.connect() as conn:
        server = int(conn.execute(text("SHOW server_version_num")).scalar_one()) // 10000
    engine.dispose()
    url = engine.url
    env = os.environ.copy()
    if url.password:
        env["PGPASSWORD"] = str(url.password)  # not on the command line, where ps shows it
    conninfo = url.set(drivername="postgresql", password=None).render_as_string()
    command = [find_pg_tool("pg_restore", server), "--clean", "--if-exists", "--no-owner"]
    command += ["--single-transaction", "--exit-on-error", f"--dbname={conninfo}", str(source)]
    done = subprocess.run(command, env=env, capture_output=True, text=True)
    if done.returncode != 0:
        raise BackupError(f"pg_restore failed: {done.stderr.strip()}")


def _restore_key(source: Path, secret_key_file: Path) -> bool:
    kept = key_file(source)
    if not kept.is_file():
        return False
    private_dir(secret_key_file.parent)
    write_private(secret_key_file, kept.read_bytes())
    return True
