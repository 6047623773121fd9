"""RELIABILITY 26: the database, its -wal and -shm, the vector index and the secret key are
created 0600 (and the folders paperfeed makes for them 0700), whatever the umask."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from paperfeed.config import Settings
from paperfeed.private_files import private_dir, touch_private, write_private
from paperfeed.search import hnsw
from paperfeed.store import migrate
from paperfeed.store.engine import make_engine


def mode(path: Path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


@pytest.fixture(autouse=True)
def usual_umask() -> Iterator[None]:
    """The umask of most systems, under which files are world-readable unless made otherwise."""
    before = os.umask(0o022)
    yield
    os.umask(before)


def test_a_new_sqlite_database_and_its_wal_and_shm_are_private(tmp_path: Path) -> None:
    existing = tmp_path / "srv"
    existing.mkdir(mode=0o755)
    folder = existing / "new" / "data"
    engine = make_engine(f"sqlite:///{folder / 'paperfeed.db'}")
    with engine.connect() as keep_open:  # the -wal and -shm exist while a connection is open
        migrate.upgrade(engine)
        files = {p.name: mode(p) for p in folder.iterdir()}
        assert keep_open is not None
    engine.dispose()
    assert files == {"paperfeed.db": 0o600, "paperfeed.db-wal": 0o600, "paperfeed.db-shm": 0o600}
    assert mode(folder) == 0o700 and mode(folder.parent) == 0o700
    assert mode(existing) == 0o755  # a folder that was there keeps its mode


def test_the_generated_secret_key_and_its_folder_are_private(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path / "fresh")
    assert settings.resolved_secret_key()
    assert mode(tmp_path / "fresh" / "secret_key") == 0o600
    assert mode(tmp_path / "fresh") == 0o700


def test_the_vector_index_file_is_private(tmp_path: Path) -> None:
    index = hnsw.new_index(4)
    hnsw.upsert(index, np.array([1, 2], dtype=np.int64), np.eye(2, 4, dtype=np.float32))
    path = tmp_path / "index" / "search.hnsw"
    hnsw.save(index, path, hnsw.FileState("m", 4, 1, 2))
    assert mode(path) == 0o600 and mode(path.parent) == 0o700


def test_helpers_make_private_files_whatever_the_umask(tmp_path: Path) -> None:
    os.umask(0)
    touch_private(tmp_path / "a")
    write_private(tmp_path / "b", b"secret")
    assert mode(tmp_path / "a") == mode(tmp_path / "b") == 0o600
    assert private_dir(tmp_path / "c" / "d") == tmp_path / "c" / "d"
    assert mode(tmp_path / "c") == mode(tmp_path / "c" / "d") == 0o700
    (tmp_path / "a").chmod(0o644)
    touch_private(tmp_path / "a")  # an existing file is left as its owner made it
    assert mode(tmp_path / "a") == 0o644
