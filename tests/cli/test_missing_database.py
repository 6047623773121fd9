"""Commands that need the database say when its file or folder is missing, and create neither."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.test_cli import run, said


@pytest.mark.parametrize("command", [("stats",), ("stats", "--json"), ("users", "list")])
def test_a_read_only_command_on_a_missing_database_creates_nothing(
    command: tuple[str, ...], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    database = tmp_path / "paperfeed.db"
    monkeypatch.setenv("PAPERFEED_DATABASE_URL", f"sqlite:///{database}")
    result = run(*command)
    assert result.exit_code == 1, result.output
    assert f"the database {database} does not exist yet" in said(result)
    assert "paperfeed db upgrade" in said(result)
    assert not database.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == []


def test_a_missing_folder_of_the_database_is_named(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = tmp_path / "no" / "such" / "dir"
    monkeypatch.setenv("PAPERFEED_DATABASE_URL", f"sqlite:///{folder}/x.db")
    result = run("stats")
    assert result.exit_code == 1, result.output
    assert f"the folder of the database, {folder}, does not exist" in said(result)
    assert "not at the current schema" not in said(result)
    assert not (tmp_path / "no").exists()


def test_the_default_database_is_not_created_by_stats(tmp_path: Path) -> None:
    # conftest points PAPERFEED_DATA_DIR at tmp_path/data, which does not exist yet.
    result = run("stats")
    assert result.exit_code == 1, result.output
    assert "paperfeed db upgrade" in said(result)
    assert not (tmp_path / "data" / "paperfeed.db").exists()


def test_db_upgrade_then_stats_works(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    database = tmp_path / "new" / "paperfeed.db"
    monkeypatch.setenv("PAPERFEED_DATABASE_URL", f"sqlite:///{database}")
    assert run("db", "upgrade").exit_code == 0
    assert database.is_file()
    result = run("stats", "--json")
    assert result.exit_code == 0, result.output
