"""`--limit` of `search` and `similar`: out of range is a usage error, not a quiet cut."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import Result

from tests.test_cli import run, write_jsonl


@pytest.mark.parametrize("limit", ["0", "-1", "1001", "100000"])
def test_search_refuses_a_limit_out_of_range(store: Result, limit: str) -> None:
    result = run("search", "paper", "--limit", limit)
    assert result.exit_code == 2, result.output
    assert "Invalid value for '--limit'" in result.output
    bound = "greater than or equal to 1" if int(limit) < 1 else "less than or equal to 1000"
    assert bound in result.output
    assert result.stdout == ""


def test_search_takes_limits_from_1_to_1000(store: Result, tmp_path: Path) -> None:
    feed = write_jsonl(tmp_path / "papers.jsonl", 3)
    assert run("ingest", str(feed), "--format", "jsonl").exit_code == 0
    one = run("search", "paper", "--limit", "1")
    assert one.exit_code == 0, one.output
    assert one.stdout.count("Paper number") == 1
    most = run("search", "paper", "--limit", "1000", "--json")
    assert most.exit_code == 0, most.output
    assert most.stdout.count('"title"') == 3


@pytest.mark.parametrize("limit", ["0", "101"])
def test_similar_refuses_a_limit_out_of_range(store: Result, limit: str) -> None:
    result = run("similar", "2401.12345", "--limit", limit)
    assert result.exit_code == 2, result.output
    assert "Invalid value for '--limit'" in result.output
