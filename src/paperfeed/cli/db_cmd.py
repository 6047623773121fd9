"""`paperfeed db ...`: migrations, backups, reset."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from paperfeed import services
from paperfeed.cli.app import console, db_app, fail


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
    """Write a consistent backup while paperfeed runs: an SQLite file, or a `pg_dump -Fc` archive
    (restore with pg_restore)."""
    from paperfeed.store.backup import BackupError, backup

    try:
        written = backup(services.get_engine(), path)
    except BackupError as error:
        raise fail(str(error)) from None
    console.print(f"backup written to {written}", highlight=False)


@db_app.command("reset")
def db_reset(
    yes: Annotated[bool, typer.Option("--yes", help="Do not ask for confirmation.")] = False,
) -> None:
    """Delete everything in the database and recreate the schema."""
    engine = services.get_engine()
    where = engine.url.render_as_string(hide_password=True)
    if not yes:
        if not sys.stdin.isatty():
            raise fail("refusing to reset without --yes when not at a terminal", 2)
        typer.confirm(f"Delete every paper and account in {where}?", abort=True)
    services.reset_database(engine)
    console.print(f"reset {where}")
