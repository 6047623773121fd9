"""`paperfeed ingest`: read a source into the store, with a progress bar."""

from __future__ import annotations

from contextlib import contextmanager
from datetime import date
from typing import Annotated, Any

import typer
from rich.progress import (
    BarColumn,
    DownloadColumn,
    Progress,
    SpinnerColumn,
    TextColumn,
    TimeElapsedColumn,
)

from paperfeed import services
from paperfeed.cli.app import app, console, fail, ready_engine, shown, styled
from paperfeed.config import get_settings
from paperfeed.ingest.formats import FORMAT_NAMES, IngestError, ParseOptions
from paperfeed.ingest.gc_tuning import tune_gc_for_a_one_shot_batch_job
from paperfeed.ingest.service import (
    IngestFailed,
    IngestReport,
    OnError,
    run_ingest,
)
from paperfeed.ingest.sources import Source


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
    index: Annotated[
        bool | None,
        typer.Option(
            "--index/--no-index",
            help="Embed new papers at the end (default: PAPERFEED_INDEX_ON_INGEST).",
            show_default=False,
        ),
    ] = None,
    parallel: Annotated[
        bool | None,
        typer.Option(
            "--parallel/--no-parallel",
            help="Parse a file in a second process (default: for files of 32 MiB or more, "
            "on 2+ cores).",
            show_default=False,
        ),
    ] = None,
    bulk: Annotated[
        bool | None,
        typer.Option(
            "--bulk/--no-bulk",
            help="SQLite: build the secondary indexes once at the end instead of paper by paper, "
            "and index each batch's text in one statement "
            "(default: for a file of 64 MiB or more that is at least as large as the database).",
            show_default=False,
        ),
    ] = None,
) -> None:
    """Read papers from SOURCE and merge them into the store (idempotent, resumable)."""
    if on_error not in ("stop", "skip"):
        raise fail("--on-error must be `stop` or `skip`", 2)
    if (source is None) == (not sample):
        raise fail("give a SOURCE or --sample (not both)", 2)
    engine = ready_engine()
    tune_gc_for_a_one_shot_batch_job()
    if if_empty and not services.is_empty(engine):
        console.print("The database already holds papers; nothing to do.")
        return
    try:
        sources = _sources(source, fmt, _date(since, "--since"), _date(day, "--date"))
        for item in sources:
            _ingest_one(engine, item, on_error, parallel, bulk)  # type: ignore[arg-type]
    except IngestError as error:
        raise fail(str(error)) from None
    _bring_index_up_to_date(engine, sample, index)


def _bring_index_up_to_date(engine: Any, sample: bool, index: bool | None) -> None:
    from paperfeed.cli.search_cmd import update_dense_index

    if sample:
        # The sample ships its embeddings, so `make run` starts in seconds.
        from paperfeed.search.precomputed import load_precomputed

        load_precomputed(engine)
    if index if index is not None else get_settings().index_on_ingest:
        update_dense_index(engine)


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
        raise fail(f"{option} must be a date YYYY-MM-DD, not {value!r}", 2) from None


def _ingest_one(
    engine: Any, source: Source, on_error: OnError, parallel: bool | None, bulk: bool | None
) -> None:
    settings = get_settings()
    with _progress(source) as (progress, task):

        def update(records: int, position: int) -> None:
            progress.update(task, completed=position, records=records)

        def stage(doing: str) -> None:
            progress.update(task, description=doing)

        try:
            report = run_ingest(
                engine,
                source,
                on_error=on_error,
                batch_size=settings.ingest_batch_size,
                progress=update,
                parallel=parallel,
                bulk=bulk,
                stage=stage,
            )
        except IngestFailed as failure:
            progress.stop()
            _print_report(failure.report)
            raise fail(
                f"{failure.error}\nNothing after the last committed batch was written; fix the "
                "record or use --on-error skip.",
            ) from None
    _print_report(report)


def _progress(source: Source) -> Any:
    @contextmanager
    def manager() -> Any:
        progress = Progress(
            SpinnerColumn(),
            # The description is the source's name: data, not markup.
            TextColumn("{task.description}", style="bold", markup=False),
            BarColumn(),
            DownloadColumn(),
            TextColumn("{task.fields[records]:,} records", markup=False),
            TextColumn("{task.fields[rate]}", markup=False),
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
        f"{shown(report.source)}: read {report.read:,} records"
        + (f" (resumed after {report.skipped_resumed:,})" if report.skipped_resumed else "")
        + f"; {counts.inserted:,} new, {counts.updated:,} updated, {counts.unchanged:,} unchanged"
        + (f"; {len(report.errors):,} bad" if report.errors else ""),
        highlight=False,
    )
    for error in report.errors[:20]:
        console.print(styled("  skipped", "yellow", str(error)), highlight=False)
    if len(report.errors) > 20:
        console.print(f"  ... and {len(report.errors) - 20:,} more", highlight=False)
