"""`paperfeed db ...`: migrations, backups, reset."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer
from sqlalchemy.engine import URL

from paperfeed import services
from paperfeed.cli.app import console, db_app, fail, shown, styled
from paperfeed.config import get_settings
from paperfeed.private_files import tighten
from paperfeed.store.engine import sqlite_file


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Create the database or migrate it to the current schema."""
    from paperfeed.ingest.service import finish_an_unfinished_bulk_load
    from paperfeed.store import migrate

    engine = services.get_engine()
    migrate.upgrade(engine)
    console.print(f"database at schema revision {migrate.current_revision(engine)}")
    for name in finish_an_unfinished_bulk_load(engine):
        console.print(f"built index {name}, left out by an unfinished bulk ingest")
    for path in tighten(_private_files(engine.url)):
        console.print(shown(f"made {path} readable by its owner only (it was not)"))


def _private_files(url: URL) -> list[Path]:
    """The files of this site that hold private data: the SQLite database with its -wal and
    -shm, the search index beside it, and the generated secret key."""
    found = [get_settings().data_dir / "secret_key"]
    database = sqlite_file(url)
    if database is not None:
        found += [Path(f"{database}{suffix}") for suffix in ("", "-wal", "-shm")]
        found += sorted(database.parent.glob(f"{database.stem}.vectors-*.usearch"))
    return found


@db_app.command("backup")
def db_backup(
    path: Annotated[
        Path,
        typer.Argument(
            help="File to write (not a directory). Missing parent folders are created; an "
            "existing file is replaced only once the new backup is complete.",
            show_default=False,
        ),
    ],
) -> None:
    """Write a consistent backup while paperfeed runs: an SQLite file, or a `pg_dump -Fc` archive,
    and the secret key beside it (PATH.key), both readable by their owner only. Restore with
    `paperfeed db restore`."""
    from paperfeed.store.backup import BackupError, backup, key_file

    key = get_settings().resolved_secret_key()
    try:
        written = backup(services.get_engine(), path, key)
    except BackupError as error:
        raise fail(str(error)) from None
    console.print(shown(f"backup written to {written} (secret key: {key_file(written)})"))


@db_app.command("restore")
def db_restore(
    path: Annotated[
        Path, typer.Argument(help="A backup made by `paperfeed db backup`.", show_default=False)
    ],
    yes: Annotated[bool, typer.Option("--yes", help="Do not ask for confirmation.")] = False,
) -> None:
    """Replace the database with a backup, and the secret key with the backup's (PATH.key), so
    that links in mail sent before still work. Stop `serve` and `worker` first."""
    from paperfeed.store.backup import BackupError
    from paperfeed.store.restore import restore

    settings = get_settings()
    engine = services.get_engine()
    where = engine.url.render_as_string(hide_password=True)
    _confirm(yes, f"Replace everything in {where} with {path}?")
    try:
        had_key = restore(engine, path, settings.data_dir / "secret_key")
    except BackupError as error:
        raise fail(str(error)) from None
    console.print(shown(f"restored {where} from {path}"))
    for warning in _key_warnings(had_key, bool(settings.secret_key)):
        console.print(styled("warning:", "yellow", warning))


def _key_warnings(had_key: bool, key_configured: bool) -> list[str]:
    if not had_key:
        return ["the backup has no .key file: links in mail sent before it no longer work"]
    if key_configured:
        return [
            "PAPERFEED_SECRET_KEY is set and is used instead of the restored key file; set it "
            "to the backup's key for links in mail sent before to work"
        ]
    return []


def _confirm(yes: bool, question: str) -> None:
    if yes:
        return
    if not sys.stdin.isatty():
        raise fail("refusing to change the database without --yes when not at a terminal", 2)
    typer.confirm(question, abort=True)


@db_app.command("reset")
def db_reset(
    yes: Annotated[bool, typer.Option("--yes", help="Do not ask for confirmation.")] = False,
) -> None:
    """Delete everything in the database and recreate the schema."""
    engine = services.get_engine()
    where = engine.url.render_as_string(hide_password=True)
    _confirm(yes, f"Delete every paper and account in {where}?")
    services.reset_database(engine)
    console.print(f"reset {where}")
