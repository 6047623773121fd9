"""Stored text cannot drive the terminal: ANSI escapes, C1 controls and bidi overrides in titles,
names and file names print as visible escapes; rich markup in them prints as written."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import Result

from paperfeed.cli.app import shown
from paperfeed.services import get_engine
from tests.factories import add_user
from tests.test_cli import run

CLEAR_AND_RED = "\x1b[2J\x1b[31m"
TITLES = [
    f"{CLEAR_AND_RED}Quantum kittens",  # ESC: erase the screen, paint it red
    "Quantum \x9b31mkittens, C1",  # U+009B: a one-character CSI
    "Quantum kittens \u202eesrever",  # a right-to-left override
    "[bold]Quantum[/bold] kittens \x07",  # markup and a bell
]
RAW = ("\x1b", "\x9b", "\u202e", "\x07")


def assert_inert(text: str) -> None:
    assert not any(raw in text for raw in RAW), repr(text)


@pytest.fixture
def hostile_store(store: Result, tmp_path: Path) -> Path:
    feed = tmp_path / "feed.jsonl"
    rows = [{"title": t, "abstract": "Kittens.", "upvotes": 3} for t in TITLES]
    feed.write_text("".join(json.dumps(row) + "\n" for row in rows), encoding="utf-8")
    assert run("ingest", str(feed), "--format", "jsonl").exit_code == 0
    return feed


def test_search_prints_control_characters_as_escapes(hostile_store: Path) -> None:
    result = run("search", "quantum kittens", "--limit", "10")
    assert result.exit_code == 0, result.output
    assert_inert(result.output)
    assert "\\x1b[2J\\x1b[31mQuantum kittens" in result.stdout
    assert "\\x9b31mkittens" in result.stdout and "\\u202eesrever" in result.stdout
    assert "[bold]Quantum[/bold] kittens \\x07" in result.stdout


def test_trending_and_stats_print_no_raw_controls(hostile_store: Path) -> None:
    result = run("trending", "--recompute")
    assert result.exit_code == 0, result.output
    assert_inert(result.output)
    assert "\\x1b[2J" in result.stdout
    stats = run("stats")
    assert stats.exit_code == 0 and "papers" in stats.stdout
    assert_inert(stats.output)


def test_users_list_escapes_stored_names(store: Result) -> None:
    add_user(get_engine(), f"eve{CLEAR_AND_RED}")
    result = run("users", "list")
    assert result.exit_code == 0, result.output
    assert_inert(result.output)
    assert "eve\\x1b[2J\\x1b[31m" in result.stdout


def test_ingest_report_escapes_file_names_and_reasons(store: Result, tmp_path: Path) -> None:
    feed = tmp_path / f"feed{CLEAR_AND_RED}.jsonl"
    feed.write_text('{"title": "Fine", "abstract": "a"}\n{"abstract": "no title"}\n')
    result = run("ingest", str(feed), "--format", "jsonl", "--on-error", "skip")
    assert result.exit_code == 0, result.output
    assert_inert(result.output)
    assert "feed\\x1b[2J\\x1b[31m.jsonl line 2" in result.stderr


def test_shown_keeps_newlines_only_when_asked() -> None:
    assert shown("a\nb\x1b") == "a\\nb\\x1b"
    assert shown("a\nb\x1b", lines=True) == "a\nb\\x1b"
    assert shown("Plain title: ünïcode, [markup], 100%") == "Plain title: ünïcode, [markup], 100%"
