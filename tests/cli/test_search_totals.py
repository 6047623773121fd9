"""`paperfeed search`: the total of every match, pages (--offset) and --sort."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import Result

from tests.test_cli import run, write_jsonl


def test_json_results_carry_the_total_and_their_rank(store: Result, tmp_path: Path) -> None:
    assert (
        run("ingest", str(write_jsonl(tmp_path / "p.jsonl", 7)), "--format", "jsonl").exit_code == 0
    )
    first = run("search", "paper", "--limit", "3", "--json")
    assert first.exit_code == 0, first.output
    rows = json.loads(first.stdout)
    assert [r["total"] for r in rows] == [7, 7, 7] and [r["rank"] for r in rows] == [1, 2, 3]
    seen = [r["id"] for r in rows]
    for offset in ("3", "6"):
        page = json.loads(
            run("search", "paper", "--limit", "3", "--offset", offset, "--json").stdout
        )
        assert all(r["total"] == 7 for r in page)
        seen += [r["id"] for r in page]
    assert len(seen) == len(set(seen)) == 7
    text = run("search", "paper", "--sort", "date")
    assert text.exit_code == 0 and text.stdout.startswith("7 results")


def test_an_unknown_sort_is_refused_by_name(store: Result) -> None:
    result = run("search", "paper", "--sort", "best")
    assert result.exit_code != 0
    assert "--sort" in result.output and "best" in result.output
