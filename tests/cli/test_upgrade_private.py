"""`paperfeed db upgrade` makes the private files that older versions left readable by all
(0644) readable by their owner only, and says which."""

from __future__ import annotations

import os
import stat
from pathlib import Path

from typer.testing import Result

from paperfeed.config import get_settings
from tests.test_cli import run, said


def test_upgrade_tightens_files_others_could_read(store: Result) -> None:
    data = get_settings().data_dir
    assert get_settings().resolved_secret_key()
    index = data / "paperfeed.vectors-some-model.usearch"
    index.write_bytes(b"vectors")
    private = [data / "paperfeed.db", data / "secret_key", index]
    for path in private:
        os.chmod(path, 0o644)  # as versions before RELIABILITY 26 made them
    result = run("db", "upgrade")
    assert result.exit_code == 0, result.output
    assert {stat.S_IMODE(p.stat().st_mode) for p in private} == {0o600}
    for path in private:
        assert f"made {path} readable by its owner only" in said(result)
    again = run("db", "upgrade")
    assert "readable by its owner only" not in said(again)  # nothing left to change


def test_other_files_in_the_data_folder_are_left_alone(store: Result) -> None:
    notes = Path(get_settings().data_dir) / "notes.txt"
    notes.write_text("mine")
    notes.chmod(0o644)
    assert run("db", "upgrade").exit_code == 0
    assert stat.S_IMODE(notes.stat().st_mode) == 0o644
