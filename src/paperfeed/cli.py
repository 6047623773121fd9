"""The `paperfeed` command line: parses arguments, calls services, prints with rich."""

from __future__ import annotations

import sys
from datetime import date
from pathlib import Path
from typing import Annotated, Any

import orjson
import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    DownloadColumn,
    Progress,
    SpinnerColumn,
    TextColumn,
    TimeElapsedColumn,
)

from paperfeed import logs, services
from paperfeed.config import get_settings
from paperfeed.ingest.formats import FORMAT_NAMES, IngestError, ParseOptions
from paperfeed.ingest.service import IngestFailed, IngestReport, OnError, run_ingest
from paperfeed.ingest.sources import Source

app = typer.Typer(
    help="paperfeed: daily papers, trending, search and digests over your own paper store.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
    rich_markup_mode=None,
)
db_app = typer.Typer(help="Database administration: migrations and reset.", no_args_is_help=True)
app.add_typer(db_app, name="db")
# Wide enough that error messages naming commands do not wrap mid-command.
console = Console(stderr=True, width=160 if not sys.stderr.isatty() else None)
out = Console()


@app.callback()
def _setup() -> None:
    logs.configure(get_settings().log_level)


def _fail(message: str, code: int = 1) -> typer.Exit:
    console.print(f"[bold red]error:[/] {message}", highlight=False, markup=True)
    return typer.Exit(code)


def _ready_engine() -> Any:
    engine = services.get_engine()
    try:
        services.require_current_schema(engine)
    except services.DatabaseNotReady as error:
        raise _fail(str(error)) from None
    return engine


@app.command()
def ingest(
    source: Annotated[
        str | None,
        typer.Argument(
            help="A path, `-` (stdin), an http(s) URL, `arxiv:QUERY` (e.g. arxiv:cat:cs.CL), "
            "`oai:SET` (e.g. oai:cs) or `hf-daily:YYYY-MM-DD`.",
            show_default=False,
        ),
    ] = None,
    fmt: Annotated[
        str | None,
        typer.Option(
            "--format", "-f", help=f"One of: {', '.join(FORMAT_NAMES)}. Default: detected."
        ),
    ] = None,
    since: Annotated[
        str | None, typer.Option(help="Network sources: only records changed on/after YYYY-MM-DD.")
    ] = None,
    day: Annotated[
        str | None,
        typer.Option("--date", help="Papers page: the day (YYYY-MM-DD) its papers were featured."),
    ] = None,
    on_error: Annotated[
        str, typer.Option(help="`stop` at the first bad record, or `skip` it and go on.")
    ] = "stop",
    sample: Annotated[bool, typer.Option(help="Load the bundled sample corpus.")] = False,
    if_empty: Annotated[
        bool, typer.Option(help="Do nothing when the database already holds papers.")
    ] = False,
) -> None:
    """Read papers from SOURCE and merge them into the store (idempotent, resumable)."""
    if on_error not in ("stop", "skip"):
        raise _fail("--on-error must be `stop` or `skip`", 2)
    if (source is None) == (not sample):
        raise _fail("give a SOURCE or --sample (not both)", 2)
    engine = _ready_engine()
    if if_empty and not services.is_empty(engine):
        console.print("The database already holds papers; nothing to do.")
        return
    try:
        sources = _sources(source, fmt, _date(since, "--since"), _date(day, "--date"))
        for item in sources:
            _ingest_one(engine, item, on_error)  # type: ignore[arg-type]
    except IngestError as error:
        raise _fail(str(error)) from None


def _sources(
    spec: str | None, fmt: str | None, since: date | None, day: date | None
) -> list[Source]:
    if spec is None:
        from paperfeed.ingest.sample import sample_sources

        return sample_sources()
    from paperfeed.ingest.resolve import resolve_source

    options = ParseOptions(featured_day=day)
    return [resolve_source(spec, get_settings(), fmt=fmt, since=since, options=options)]


def _date(value: str | None, option: str) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise _fail(f"{option} must be a date YYYY-MM-DD, not {value!r}", 2) from None


def _ingest_one(engine: Any, source: Source, on_error: OnError) -> None:
    settings = get_settings()
    with _progress(source) as (progress, task):

        def update(records: int, position: int) -> None:
            progress.update(task, completed=position, records=records)

        try:
            report = run_ingest(
                engine,
                source,
                on_error=on_error,
                batch_size=settings.ingest_batch_size,
                progress=update,
            )
        except IngestFailed as failure:
            progress.stop()
            _print_report(failure.report)
            raise _fail(
                f"{failure.error}\nNothing after the last committed batch was written; fix the "
                "record or use --on-error skip.",
            ) from None
    _print_report(report)


def _progress(source: Source) -> Any:
    from contextlib import contextmanager

    @contextmanager
    def manager() -> Any:
        progress = Progress(
            SpinnerColumn(),
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            DownloadColumn(),
            TextColumn("{task.fields[records]:,} records"),
            TextColumn("{task.fields[rate]}"),
            TimeElapsedColumn(),
            console=console,
            transient=False,
            disable=not console.is_terminal,
        )
        with progress:
            task = progress.add_task(source.label[-40:], total=source.size, records=0, rate="")
            original = progress.update

            def update(task_id: Any, **fields: Any) -> None:
                elapsed = progress.tasks[0].elapsed or 0
                if elapsed > 0 and "records" in fields:
                    fields["rate"] = f"{fields['records'] / elapsed:,.0f} records/s"
                original(task_id, **fields)

            progress.update = update  # type: ignore[method-assign]
            yield progress, task

    return manager()


def _print_report(report: IngestReport) -> None:
    counts = report.counts
    console.print(
        f"{report.source}: read {report.read:,} records"
        + (f" (resumed after {report.skipped_resumed:,})" if report.skipped_resumed else "")
        + f"; {counts.inserted:,} new, {counts.updated:,} updated, {counts.unchanged:,} unchanged"
        + (f"; {len(report.errors):,} bad" if report.errors else ""),
        highlight=False,
    )
    for error in report.errors[:20]:
        console.print(f"  [yellow]skipped[/] {error}", highlight=False)
    if len(report.errors) > 20:
        console.print(f"  ... and {len(report.errors) - 20:,} more", highlight=False)


@app.command()
def stats(as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False) -> None:
    """Counts: papers, authors, subscribers, schema state."""
    result = services.stats(_ready_engine()).as_dict()
    if as_json:
        sys.stdout.write(orjson.dumps(result).decode() + "\n")
        return
    for key, value in result.items():
        out.print(f"{key:>16}: {value}", highlight=False)


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port.")] = 8000,
    workers: Annotated[int, typer.Option(help="Worker processes.")] = 1,
) -> None:
    """Serve the web site and the JSON API."""
    import uvicorn

    _ready_engine()
    console.print(f"paperfeed on http://{host}:{port}/", highlight=False)
    uvicorn.run(
        "paperfeed.web.app:create_app",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        log_level="warning",
    )


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Create the database or migrate it to the current schema."""
    from paperfeed.store import migrate

    engine = services.get_engine()
    migrate.upgrade(engine)
    console.print(f"database at schema revision {migrate.current_revision(engine)}")


@db_app.command("backup")
def db_backup(
    path: Annotated[Path, typer.Argument(help="File to write.", show_default=False)],
) -> None:
    """Write a consistent backup while paperfeed runs: an SQLite file, or a `pg_dump -Fc` archive
    (restore with pg_restore)."""
    from paperfeed.store.backup import BackupError, backup

    try:
        written = backup(services.get_engine(), path)
    except BackupError as error:
        raise _fail(str(error)) from None
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
            raise _fail("refusing to reset without --yes when not at a terminal", 2)
        typer.confirm(f"Delete every paper and account in {where}?", abort=True)
    services.reset_database(engine)
    console.print(f"reset {where}")


def main() -> None:
    app()
