"""User and data text (paths, ids, titles, sources) prints as written: no rich markup or emoji."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import Result

from tests.net.conftest import Server
from tests.net.test_sources import arxiv_routes
from tests.test_cli import run, said

TITLES = ("Closing [/b] tags in titles", "Coloured [red]x[/] titles :cat:")


def test_a_missing_path_with_a_closing_tag_is_named_in_the_error(store: Result) -> None:
    result = run("ingest", "missing[/].jsonl")
    assert result.exit_code == 1, result.output
    assert "error: missing[/].jsonl" in said(result)


def test_an_unknown_paper_id_with_a_closing_tag_is_named_in_the_error(store: Result) -> None:
    result = run("similar", "nope[/]x")
    assert result.exit_code == 1, result.output
    assert "nope[/]x" in said(result)


def test_search_prints_titles_with_brackets_as_written(store: Result, tmp_path: Path) -> None:
    feed = tmp_path / "papers.jsonl"
    rows = [{"title": title, "abstract": "Markup in titles."} for title in TITLES]
    feed.write_text("".join(json.dumps(row) + "\n" for row in rows), encoding="utf-8")
    assert run("ingest", str(feed), "--format", "jsonl").exit_code == 0
    result = run("search", "markup")
    assert result.exit_code == 0, result.output
    for title in TITLES:
        assert title in result.stdout


def test_ingest_report_names_an_arxiv_source_without_emoji(store: Result, net_env: Server) -> None:
    arxiv_routes(net_env)
    result = run("ingest", "arxiv:cat:cs.CL")
    assert result.exit_code == 0, result.output
    assert "arxiv:cat:cs.CL: read 12 records" in said(result)


def test_skipped_records_are_reported_under_the_path_as_written(
    store: Result, tmp_path: Path
) -> None:
    feed = tmp_path / "odd[red]:id:.jsonl"
    feed.write_text('{"title": "Fine", "abstract": "a"}\n{"abstract": "no title"}\n')
    result = run("ingest", str(feed), "--format", "jsonl", "--on-error", "skip")
    assert result.exit_code == 0, result.output
    assert f"skipped {feed} line 2" in said(result)
