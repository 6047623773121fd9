"""RELIABILITY 21: backups of a live database are consistent and hold every commit."""

from __future__ import annotations

import shutil
import sqlite3
import subprocess
from pathlib import Path

import pytest
from sqlalchemy import Engine, select, text

from paperfeed.ingest.service import run_ingest
from paperfeed.store import backup as backup_module
from paperfeed.store import migrate
from paperfeed.store.backup import BackupError, backup, find_pg_tool
from paperfeed.store.engine import make_engine
from paperfeed.store.papers import count_papers, get_paper
from paperfeed.store.schema import ingest_checkpoints
from tests.conftest import arxiv_rows, arxiv_volume, new_postgres_database
from tests.store.dbstate import (
    ListSource,
    counts,
    digest,
    ingest_process,
    to_record,
    write_jsonl,
)


@pytest.fixture
def sqlite_engine(tmp_path: Path) -> Engine:
    engine = make_engine(f"sqlite:///{tmp_path / 'live.db'}")
    migrate.upgrade(engine)
    return engine


def restore_sqlite(copy: Path, where: Path) -> Engine:
    """Restoring an SQLite backup is putting the file in place; nothing else may be needed."""
    assert not copy.with_name(copy.name + "-wal").exists()
    shutil.copyfile(copy, where)
    with sqlite3.connect(where) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        conn.execute("INSERT INTO papers_fts(papers_fts) VALUES ('integrity-check')")
        conn.rollback()
    return make_engine(f"sqlite:///{where}")


def whole_batches(engine: Engine, batch: int) -> int:
    with engine.connect() as conn:
        done = conn.execute(select(ingest_checkpoints.c.records_done)).scalar_one_or_none() or 0
        assert count_papers(conn) == done
    assert done % batch == 0 or done == 3_000
    return done


def test_backups_taken_while_ingest_writes_restore_whole(
    sqlite_engine: Engine, tmp_path: Path
) -> None:
    batch = 200
    feed = write_jsonl(arxiv_volume(3_000), tmp_path / "feed.jsonl")
    url = sqlite_engine.url.render_as_string(hide_password=False)
    writer = ingest_process(url, feed, batch)
    taken: list[int] = []
    try:
        while writer.poll() is None:
            copy = backup(sqlite_engine, tmp_path / "backups" / f"{len(taken)}.db")
            restored = restore_sqlite(copy, tmp_path / f"restored-{len(taken)}.db")
            assert migrate.is_current(restored)
            taken.append(whole_batches(restored, batch))
            restored.dispose()
    finally:
        writer.wait()
    assert writer.returncode == 0
    assert len(set(taken)) > 1, f"no backup landed mid-ingest: {taken}"
    final = restore_sqlite(backup(sqlite_engine, tmp_path / "final.db"), tmp_path / "r.db")
    assert digest(final) == digest(sqlite_engine)


def test_a_commit_still_only_in_the_wal_is_in_the_backup(
    sqlite_engine: Engine, tmp_path: Path
) -> None:
    row = arxiv_rows(1)[0]
    with sqlite_engine.connect() as keep_open:  # the last close would checkpoint the WAL
        keep_open.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")  # the schema, on disk
        run_ingest(sqlite_engine, ListSource([to_record(row)]))

        live = Path(str(sqlite_engine.url.database))
        assert live.with_name(live.name + "-wal").stat().st_size > 0
        # The main file alone does not have the paper yet: it is in the -wal only.
        shutil.copyfile(live, tmp_path / "main-file-only.db")
        main_only = make_engine(f"sqlite:///{tmp_path / 'main-file-only.db'}")
        with main_only.connect() as conn:
            assert get_paper(conn, row["id"]) is None
        main_only.dispose()

        copy = backup(sqlite_engine, tmp_path / "backup.db")
    restored = restore_sqlite(copy, tmp_path / "restored.db")
    with restored.connect() as conn:
        paper = get_paper(conn, row["id"])
    assert paper is not None and paper.authors == row["authors"]


def test_backup_replaces_an_older_backup_only_when_complete(
    sqlite_engine: Engine, tmp_path: Path
) -> None:
    dest = tmp_path / "nightly.db"
    backup(sqlite_engine, dest)
    run_ingest(sqlite_engine, ListSource([to_record(row) for row in arxiv_rows(50)]))
    backup(sqlite_engine, dest)
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith("nightly")) == [
        "nightly.db"
    ]
    restored = restore_sqlite(dest, tmp_path / "restored.db")
    assert counts(restored) == counts(sqlite_engine)


def test_backup_refuses_the_live_file_and_a_missing_database(
    sqlite_engine: Engine, tmp_path: Path
) -> None:
    live = Path(str(sqlite_engine.url.database))
    before = counts(sqlite_engine)
    with pytest.raises(BackupError, match="is the database itself"):
        backup(sqlite_engine, live)
    assert counts(sqlite_engine) == before
    missing = make_engine(f"sqlite:///{tmp_path / 'never-made.db'}")
    with pytest.raises(BackupError, match="there is no database at"):
        backup(missing, tmp_path / "copy.db")
    assert not (tmp_path / "copy.db").exists()


def test_postgresql_dump_restores_into_a_scratch_database(pg_server: str, tmp_path: Path) -> None:
    live = make_engine(new_postgres_database(pg_server))
    migrate.upgrade(live)
    records = [to_record(row, f"line {n}") for n, row in enumerate(arxiv_rows(1_500), 1)]
    run_ingest(live, ListSource(records), batch_size=500)

    dump = backup(live, tmp_path / "paperfeed.dump")

    scratch_url = new_postgres_database(pg_server)
    scratch = make_engine(scratch_url)
    with live.connect() as conn:
        major = int(conn.execute(text("SHOW server_version_num")).scalar_one()) // 10000
    target = scratch.url.set(drivername="postgresql", password=None).render_as_string()
    restored = subprocess.run(
        [find_pg_tool("pg_restore", major), "--no-owner", "--exit-on-error", "-d", target, dump],
        capture_output=True,
        text=True,
    )
    assert restored.returncode == 0, restored.stderr
    assert migrate.is_current(scratch)
    assert counts(scratch) == counts(live)
    assert counts(scratch)["papers"] == 1_500
    assert digest(scratch, strict=True) == digest(live, strict=True)
    scratch.dispose()
    live.dispose()


def leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.rglob("*.partial"))


def test_a_directory_as_destination_is_refused_by_name(
    sqlite_engine: Engine, tmp_path: Path
) -> None:
    folder = tmp_path / "backups"
    folder.mkdir()
    with pytest.raises(BackupError, match=f"{folder} is a directory"):
        backup(sqlite_engine, folder)
    assert leftovers(tmp_path) == [] and list(folder.iterdir()) == []


@pytest.mark.parametrize("failure", [OSError(5, "Input/output error"), KeyboardInterrupt()])
def test_a_backup_that_fails_midway_leaves_no_partial_file(
    sqlite_engine: Engine,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    failure: BaseException,
) -> None:
    dest = tmp_path / "nightly.db"
    backup(sqlite_engine, dest)
    before = dest.read_bytes()

    def broken_fsync(path: Path) -> None:
        assert path.exists()  # the copy is all written: only the last steps are left
        raise failure

    monkeypatch.setattr(backup_module, "_fsync", broken_fsync)
    expected = BackupError if isinstance(failure, OSError) else KeyboardInterrupt
    with pytest.raises(expected) as raised:
        backup(sqlite_engine, dest)
    if expected is BackupError:
        assert str(dest) in str(raised.value) and "Input/output error" in str(raised.value)
    assert leftovers(tmp_path) == []
    assert dest.read_bytes() == before  # the older backup is kept


def test_missing_parent_folders_are_created_but_a_file_in_the_way_is_an_error(
    sqlite_engine: Engine, tmp_path: Path
) -> None:
    nested = tmp_path / "a" / "b" / "paperfeed.db"
    assert backup(sqlite_engine, nested).is_file()
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("")
    with pytest.raises(BackupError, match=f"{blocker / 'x.db'}"):
        backup(sqlite_engine, blocker / "x.db")
    assert leftovers(tmp_path) == []
