"""RELIABILITY 26 for backups: written 0600 with the secret key beside them, restored with it
(so mail links sent before still work), and nothing left behind by a backup killed with -9."""

from __future__ import annotations

import os
import signal
import stat
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select

from paperfeed.config import get_settings
from paperfeed.mail.tokens import make_token, read_token
from paperfeed.store.backup import backup, key_file
from paperfeed.store.partials import FOLDER
from paperfeed.store.restore import restore
from paperfeed.store.schema import papers
from tests.conftest import REPO
from tests.factories import add_paper
from tests.test_cli import run

WAIT_S = 60  # generous: how long a killed backup's watcher may take to clean up


def mode(path: Path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def paper_count(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(papers)).scalar_one())


@pytest.fixture(autouse=True)
def usual_umask() -> Iterator[None]:
    before = os.umask(0o022)
    yield
    os.umask(before)


def test_a_backup_and_its_key_are_private_and_restore_puts_both_back(
    engine: Engine, tmp_path: Path
) -> None:
    add_paper(engine, "2401.00001")
    dest = tmp_path / "backups" / "nightly.db"
    backup(engine, dest, "the-secret-key")
    assert key_file(dest).read_text() == "the-secret-key\n"
    assert mode(dest) == mode(key_file(dest)) == 0o600 and mode(dest.parent) == 0o700
    assert sorted(p.name for p in dest.parent.iterdir()) == ["nightly.db", "nightly.db.key"]
    add_paper(engine, "2401.00002")  # written after the backup: gone once it is restored
    secret = tmp_path / "restored-data" / "secret_key"
    assert restore(engine, dest, secret) is True
    assert paper_count(engine) == 1
    assert secret.read_text() == "the-secret-key\n" and mode(secret) == 0o600


def test_links_mailed_before_a_backup_work_on_a_site_restored_from_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert run("db", "upgrade").exit_code == 0
    token = make_token(get_settings().resolved_secret_key(), "confirm", 7)
    dest = tmp_path / "site.db"
    made = run("db", "backup", str(dest))
    assert made.exit_code == 0, made.output
    # A new machine: an empty data folder, with a key of its own until the restore.
    monkeypatch.setenv("PAPERFEED_DATA_DIR", str(tmp_path / "new-machine"))
    get_settings.cache_clear()
    restored = run("db", "restore", str(dest), "--yes")
    assert restored.exit_code == 0, restored.output
    get_settings.cache_clear()
    assert read_token(get_settings().resolved_secret_key(), token, "confirm").subscription_pk == 7
    assert mode(tmp_path / "new-machine" / "paperfeed.db") == 0o600


_STALLED_BACKUP = """
import sys, time
from pathlib import Path
from paperfeed.store import backup as module
from paperfeed.store.engine import make_engine

real = module._fsync
def stall(path):
    real(path)
    if str(path).endswith(".partial"):
        print("partial written", flush=True)
        time.sleep(600)
module._fsync = stall
module.backup(make_engine(sys.argv[1]), Path(sys.argv[2]), "key")
"""


def test_a_backup_killed_with_sigkill_leaves_nothing_behind(engine: Engine, tmp_path: Path) -> None:
    add_paper(engine, "2401.00001")
    folder = tmp_path / "backups"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO / "src"), str(REPO)])}
    url = engine.url.render_as_string(hide_password=False)
    command = [sys.executable, "-c", _STALLED_BACKUP, url, str(folder / "nightly.db")]
    process = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, text=True)
    assert process.stdout is not None and process.stdout.readline() == "partial written\n"
    assert [p.name for p in (folder / FOLDER).iterdir()] != []  # the copy is on disk
    process.send_signal(signal.SIGKILL)
    process.wait()
    deadline = time.monotonic() + WAIT_S
    while list(folder.iterdir()) and time.monotonic() < deadline:
        time.sleep(0.05)  # the watcher removes the partial once it sees the backup die
    assert list(folder.rglob("*")) == []


def test_a_partial_nobody_holds_is_removed_by_the_next_backup(
    engine: Engine, tmp_path: Path
) -> None:
    folder = tmp_path / "backups"
    stale = folder / FOLDER / "nightly.db.4242.partial"
    stale.parent.mkdir(parents=True)
    stale.write_bytes(b"\0" * 4096)
    Path(f"{stale}-journal").write_bytes(b"j")
    backup(engine, folder / "nightly.db")
    assert sorted(p.name for p in folder.iterdir()) == ["nightly.db"]
