"""`paperfeed db backup` on a path it cannot write: one error line naming it, nothing left over."""

from __future__ import annotations

from pathlib import Path

from typer.testing import Result

from tests.test_cli import run, said


def test_backup_to_an_existing_directory_is_an_error_naming_it(
    store: Result, tmp_path: Path
) -> None:
    folder = tmp_path / "backups"
    folder.mkdir()
    result = run("db", "backup", str(folder))
    assert result.exit_code == 1
    assert said(result).startswith(f"error: {folder} is a directory")
    assert "Traceback" not in result.output
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith("backups")) == ["backups"]


def test_backup_creates_missing_parent_folders(store: Result, tmp_path: Path) -> None:
    dest = tmp_path / "nightly" / "2025-01-01" / "paperfeed.db"
    result = run("db", "backup", str(dest))
    assert result.exit_code == 0, result.output
    assert dest.is_file() and f"backup written to {dest}" in said(result)
