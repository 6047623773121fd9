"""`paperfeed index`, `search`, `similar` and `eval`."""

from __future__ import annotations

import sys
from datetime import timedelta
from pathlib import Path
from typing import Annotated, Any

import orjson
import typer
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
    Task,
    TextColumn,
    TimeElapsedColumn,
)
from rich.table import Table
from rich.text import Text

from paperfeed.cli.app import app, console, fail, out, ready_engine, shown
from paperfeed.search.limits import MAX_RESULTS, MAX_SIMILAR


def rate(task: Task) -> float | None:
    """Items a second: rich's estimate over the last minute, else the average so far (rich's
    needs two batches within the minute, and a batch of 256 abstracts can take longer)."""
    speed = task.finished_speed or task.speed
    if speed is None and task.completed and task.elapsed:
        speed = task.completed / task.elapsed
    return speed


class RateColumn(ProgressColumn):
    """The rate, e.g. "96 abstracts/s"."""

    def __init__(self, unit: str) -> None:
        super().__init__()
        self.unit = unit

    def render(self, task: Task) -> Text:
        speed = rate(task)
        shown = "–" if speed is None else f"{speed:,.0f}" if speed >= 10 else f"{speed:.1f}"
        return Text(f"{shown} {self.unit}/s", style="progress.data.speed")


class EtaColumn(ProgressColumn):
    """Time left at the current rate, e.g. "ETA 0:12:31"."""

    def render(self, task: Task) -> Text:
        speed = rate(task)
        if task.total is None or not speed:
            return Text("ETA -:--:--", style="progress.remaining")
        left = max(0.0, task.total - task.completed) / speed
        return Text(f"ETA {timedelta(seconds=round(left))}", style="progress.remaining")


def index_progress(unit: str = "abstracts") -> Progress:
    """A progress bar on stderr: each task's description (data, not markup), done of total,
    the rate in ``unit`` a second, time taken and time left."""
    return Progress(
        TextColumn("{task.description}", style="bold", markup=False),
        BarColumn(),
        MofNCompleteColumn(),
        RateColumn(unit),
        TimeElapsedColumn(),
        EtaColumn(),
        console=console,
        disable=not console.is_terminal,
        speed_estimate_period=60,
    )


def update_dense_index(engine: Any, rebuild: bool = False) -> None:
    """Embed new and changed papers with the configured model, showing progress."""
    from paperfeed.search.embedders import get_embedder
    from paperfeed.search.indexer import update_index

    embedder = get_embedder()
    with index_progress() as progress:
        task = progress.add_task(f"embedding ({embedder.name})", total=None)

        def update(done: int, total: int) -> None:
            progress.update(task, completed=done, total=total)

        report = update_index(engine, embedder, rebuild=rebuild, progress=update)
    window = getattr(embedder, "window", None)  # the GPU embedder reads the model's length
    rate = f", {report.embedded / report.seconds:,.1f} abstracts/s" if report.embedded else ""
    console.print(
        f"index ({report.model}, {report.vector_index}): {report.embedded:,} embedded"
        f"{f' ({window} wordpieces each at most)' if window and report.embedded else ''}, "
        f"{report.up_to_date:,} already current, {report.papers:,} papers "
        f"in {report.seconds:.1f} s{rate}",
        highlight=False,
    )


@app.command()
def index(
    rebuild: Annotated[bool, typer.Option(help="Re-embed every paper.")] = False,
) -> None:
    """Bring the search indexes up to date (new and changed papers only, unless --rebuild)."""
    update_dense_index(ready_engine(), rebuild)


@app.command()
def search(
    query: Annotated[str, typer.Argument(help="Words, phrases, fields (author:, cat:, ...).")],
    limit: Annotated[int, typer.Option(min=1, max=MAX_RESULTS, help="Results to show.")] = 10,
    offset: Annotated[int, typer.Option(min=0, help="Results to skip (the next page).")] = 0,
    sort: Annotated[str, typer.Option(help="relevance, date (newest first) or upvotes.")] = (
        "relevance"
    ),
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Search papers: the same hybrid search as the site and the API.

    --json prints the list of results; each carries "total", the number of papers that
    match (filters included), and "rank", its place among them."""
    from paperfeed.search.engine import SORTS
    from paperfeed.search.service import search as run_search

    if sort not in SORTS:
        raise fail(f"--sort: {sort!r} is not one of {', '.join(SORTS)}.")
    results = run_search(
        ready_engine(),
        query,
        limit,
        offset,
        sort,
        retriever=_retriever(),
    )
    if as_json:
        rows = [
            r.as_dict() | {"total": results.total, "rank": offset + i}
            for i, r in enumerate(results.results, 1)
        ]
        sys.stdout.write(orjson.dumps(rows, option=orjson.OPT_INDENT_2).decode() + "\n")
        return
    out.print(f"{results.total:,} {'result' if results.total == 1 else 'results'}", highlight=False)
    for number, result in enumerate(results.results, offset + 1):
        title, paper_id = shown(result.title), shown(result.id)
        out.print(Text.assemble(f"{number:>3}. ", (title, "bold"), " ", (paper_id, "dim")))
        out.print(f"     {shown(result.snippet.text[:160])}", highlight=False)


def _retriever() -> Any:
    from paperfeed.search.indexer import DenseRetriever

    return DenseRetriever()


@app.command()
def similar(
    paper_id: Annotated[str, typer.Argument(help="A paper id (arXiv id or pf-...).")],
    limit: Annotated[int, typer.Option(min=1, max=MAX_SIMILAR, help="Papers to show.")] = 10,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Papers nearest in meaning to PAPER_ID (from the stored embeddings)."""
    from paperfeed.search.similar import similar_papers

    engine = ready_engine()
    try:
        rows = similar_papers(engine, paper_id, limit)
    except LookupError as error:
        raise fail(str(error)) from None
    if as_json:
        sys.stdout.write(orjson.dumps(rows, option=orjson.OPT_INDENT_2).decode() + "\n")
        return
    table = Table("score", "id", "title")
    for row in rows:
        table.add_row(f"{row['score']:.3f}", shown(row["id"]), shown(row["title"]))
    out.print(table)


@app.command("eval")
def evaluate(
    dataset: Annotated[Path, typer.Argument(help="A BEIR-format folder.", show_default=False)],
    split: Annotated[str, typer.Option(help="Judgements to score: test or train.")] = "test",
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Retrieval quality (nDCG@10, Recall@100, MRR@10) on a BEIR dataset, in a scratch index."""
    from paperfeed.search.beir import DatasetError
    from paperfeed.search.eval import evaluate_dataset

    try:
        with index_progress("items") as progress:
            task = progress.add_task("eval", total=None)

            def update(done: int, total: int) -> None:
                progress.update(task, completed=done, total=total)

            scores = evaluate_dataset(dataset, split, progress=update)
    except DatasetError as error:
        raise fail(str(error)) from None
    if as_json:
        sys.stdout.write(orjson.dumps(scores, option=orjson.OPT_INDENT_2).decode() + "\n")
        return
    table = Table("pipeline", "nDCG@10", "Recall@100", "MRR@10")
    for name, row in scores.items():
        table.add_row(
            name, f"{row['ndcg@10']:.4f}", f"{row['recall@100']:.4f}", f"{row['mrr@10']:.4f}"
        )
    out.print(table)
