"""`paperfeed trending`: show the trending papers, or recompute their scores."""

from __future__ import annotations

from typing import Annotated

import orjson
import typer
from rich.table import Table

from paperfeed.cli.app import app, console, out, ready_engine, shown


@app.command()
def trending(
    recompute: Annotated[
        bool,
        typer.Option(
            "--recompute",
            help="Recompute every score with activity in the window (time decay lowers scores "
            "as hours pass: run it hourly, e.g. from cron or the worker).",
        ),
    ] = False,
    limit: Annotated[int, typer.Option(min=1, max=1000, help="Papers to show.")] = 20,
    json: Annotated[bool, typer.Option("--json", help="Print JSON with the score terms.")] = False,
) -> None:
    """The trending papers with the terms of their scores; --recompute refreshes the scores."""
    from paperfeed.rank.trending import recompute_trending
    from paperfeed.web.queries import trending_page

    engine = ready_engine()
    if recompute:
        scored = recompute_trending(engine)
        console.print(f"trending: {scored:,} papers scored", highlight=False)
    items = trending_page(engine, 1, limit).items
    if json:
        rows = [
            {"id": i.paper.id, "title": i.paper.title, "score": i.score, "terms": i.terms}
            for i in items
        ]
        out.print_json(orjson.dumps(rows).decode())
        return
    based_on = items[0].terms.get("based_on") if items else None
    if based_on:  # a quiet store: say what the ranking rests on (rank.trending.reference_time)
        console.print(f"nothing happened in the window: trending as of {based_on}")
    table = Table("#", "score", "id", "title", "why")
    for rank, item in enumerate(items, 1):
        why = ", ".join(f"{label} {points:.1f}" for label, _, points in item.why)
        paper = item.paper
        table.add_row(str(rank), f"{item.score:.2f}", shown(paper.id), shown(paper.title), why)
    out.print(table)
