"""The `paperfeed` command line, run in-process through Typer's CliRunner on both backends."""

from __future__ import annotations

import gzip
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import typer
from sqlalchemy import Engine
from typer.testing import CliRunner, Result

from paperfeed.cli import app
from paperfeed.ingest.sample import SAMPLE_DIR
from paperfeed.store import deferred_indexes, migrate
from paperfeed.store.engine import is_sqlite, make_engine

SEED_PAPERS = 58


def run(*args: str) -> Result:
    return CliRunner().invoke(app, list(args), prog_name="paperfeed")


def said(result: Result) -> str:
    """What a command wrote to stderr, unwrapped (rich wraps lines at the terminal width)."""
    return " ".join(result.stderr.split())


def stats() -> dict[str, Any]:
    result = run("stats", "--json")
    assert result.exit_code == 0, result.output
    data: dict[str, Any] = json.loads(result.stdout)
    return data


def slice_size() -> int:
    """Papers in the bundled arXiv slice: one JSON object a line, ids all distinct."""
    with gzip.open(SAMPLE_DIR / "arxiv-listings.jsonl.gz", "rt", encoding="utf-8") as handle:
        ids = [json.loads(line)["id"] for line in handle if line.strip()]
    assert len(ids) == len(set(ids))
    return len(ids)


def hf_sample_size() -> int:
    """Papers of the bundled Hugging Face Daily Papers sample (an object keyed by arXiv id)."""
    with gzip.open(SAMPLE_DIR / "hf-daily-papers.json.gz", "rt", encoding="utf-8") as handle:
        return len(json.load(handle))


def command_paths(command: Any, path: tuple[str, ...] = ()) -> Iterator[tuple[str, ...]]:
    yield path
    for name, child in getattr(command, "commands", {}).items():
        yield from command_paths(child, (*path, name))


def write_jsonl(path: Path, count: int) -> Path:
    rows = [{"title": f"Paper number {i}", "abstract": f"Abstract {i}."} for i in range(count)]
    path.write_text("".join(json.dumps(row) + "\n" for row in rows), encoding="utf-8")
    return path


def test_every_command_has_help() -> None:
    paths = list(command_paths(typer.main.get_command(app)))
    assert len(paths) >= 7
    for path in paths:
        result = run(*path, "--help")
        assert result.exit_code == 0, (path, result.output)
        assert result.stdout.startswith(f"Usage: {' '.join(('paperfeed', *path))} ")


def test_stats_json_is_an_object_with_papers_and_subscribers(engine: Engine) -> None:
    data = stats()
    assert data["papers"] == 0
    assert data["subscribers"] == 0
    for count in ("authors", "users", "votes", "comments", "embedded"):
        assert data[count] == 0, count


def test_db_upgrade_migrates_an_empty_database(
    database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PAPERFEED_DATABASE_URL", database_url)
    refused = run("stats", "--json")
    assert refused.exit_code == 1
    assert "paperfeed db upgrade" in said(refused)
    for _ in range(2):  # a second upgrade has nothing to do and still succeeds
        result = run("db", "upgrade")
        assert result.exit_code == 0, result.output
    engine = make_engine(database_url)
    try:
        assert migrate.is_current(engine)
    finally:
        engine.dispose()
    assert stats()["papers"] == 0


def test_db_upgrade_builds_indexes_an_unfinished_bulk_load_left_out(engine: Engine) -> None:
    deferred_indexes.drop(engine)  # what a bulk ingest killed midway leaves
    result = run("db", "upgrade")
    assert result.exit_code == 0, result.output
    with engine.connect() as conn:
        assert deferred_indexes.missing(conn) == []
    if is_sqlite(engine):
        assert "built index ix_paper_authors_name" in said(result)


def test_db_reset_yes_empties_the_database(engine: Engine, tmp_path: Path) -> None:
    loaded = run("ingest", str(write_jsonl(tmp_path / "papers.jsonl", 3)), "--format", "jsonl")
    assert loaded.exit_code == 0, loaded.output
    assert stats()["papers"] == 3
    result = run("db", "reset", "--yes")
    assert result.exit_code == 0, result.output
    assert stats()["papers"] == 0
    assert migrate.is_current(engine)


def test_db_reset_without_yes_refuses_when_not_at_a_terminal(
    engine: Engine, tmp_path: Path
) -> None:
    run("ingest", str(write_jsonl(tmp_path / "papers.jsonl", 2)), "--format", "jsonl")
    result = run("db", "reset")  # CliRunner's stdin is not a terminal
    assert result.exit_code == 2
    assert "--yes" in said(result)
    assert stats()["papers"] == 2


def test_ingest_sample_loads_the_seed_page_and_the_arxiv_slice_once(engine: Engine) -> None:
    first = run("ingest", "--sample", "--if-empty")
    assert first.exit_code == 0, first.output
    expected = SEED_PAPERS + slice_size() + hf_sample_size()  # no id in common
    assert stats()["papers"] == expected
    again = run("ingest", "--sample", "--if-empty")
    assert again.exit_code == 0, again.output
    assert "nothing to do" in said(again)
    assert stats()["papers"] == expected


def test_ingest_needs_a_source_or_sample(engine: Engine) -> None:
    result = run("ingest")
    assert result.exit_code == 2
    assert "--sample" in said(result)
