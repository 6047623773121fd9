"""The lexical index of a bulk load (SQLite): indexed once a batch, never without its trigger."""

from __future__ import annotations

import sqlite3
from contextlib import suppress
from pathlib import Path

import orjson
import pytest
from sqlalchemy import Engine
from sqlalchemy.exc import OperationalError

from paperfeed.domain import PaperRecord
from paperfeed.ingest.formats import ParseOptions
from paperfeed.ingest.normalise import Prepared, prepare
from paperfeed.ingest.service import run_ingest
from paperfeed.ingest.sources import file_source
from paperfeed.ingest.upsert import upsert_batch
from paperfeed.store import bulk_lexical, migrate
from paperfeed.store.engine import make_engine, write_transaction
from tests.conftest import arxiv_rows


def records(count: int) -> list[Prepared]:
    prepared = []
    for row in arxiv_rows(count):
        item = prepare(PaperRecord(id=row["id"], title=row["title"], abstract=row["abstract"]))
        assert isinstance(item, Prepared)
        prepared.append(item)
    return prepared


def trigger_in(connection: sqlite3.Connection) -> bool:
    query = "SELECT count(*) FROM sqlite_master WHERE name = ?"
    return bool(connection.execute(query, (bulk_lexical.INSERT_TRIGGER,)).fetchone()[0])


def matching(engine: Engine, word: str) -> int:
    with engine.connect() as conn:
        query = "SELECT count(*) FROM papers_fts WHERE papers_fts MATCH ?"
        phrase = '"' + word.replace('"', "") + '"'
        return int(conn.exec_driver_sql(query, (phrase,)).scalar_one())


def test_only_the_batch_itself_sees_the_trigger_gone(sqlite_engine: Engine) -> None:
    path = sqlite_engine.url.database
    assert path is not None
    other = sqlite3.connect(path)
    batch = records(30)
    word = batch[0].record.title.split()[0]
    before = matching(sqlite_engine, word)
    with write_transaction(sqlite_engine) as conn:
        with bulk_lexical.indexed_at_the_end(conn):
            upsert_batch(conn, batch)
            assert not trigger_in(conn.connection.driver_connection)  # type: ignore[arg-type]
            assert trigger_in(other)  # other connections read the schema as committed
        assert trigger_in(conn.connection.driver_connection)  # type: ignore[arg-type]
    assert trigger_in(other)
    assert matching(sqlite_engine, word) > before
    other.close()


def test_a_failed_batch_keeps_the_trigger_and_indexes_nothing(sqlite_engine: Engine) -> None:
    batch = records(10)
    with pytest.raises(RuntimeError), write_transaction(sqlite_engine) as conn:  # noqa: SIM117
        with bulk_lexical.indexed_at_the_end(conn):  # needs the transaction's connection
            upsert_batch(conn, batch)
            raise RuntimeError("the batch fails")
    with sqlite_engine.connect() as conn:
        assert trigger_in(conn.connection.driver_connection)  # type: ignore[arg-type]
        assert conn.exec_driver_sql("SELECT count(*) FROM papers").scalar_one() == 0
        assert conn.exec_driver_sql("SELECT count(*) FROM papers_fts").scalar_one() == 0
    upsert_in_plain_transaction = records(1)
    with write_transaction(sqlite_engine) as conn:
        upsert_batch(conn, upsert_in_plain_transaction)
    assert matching(sqlite_engine, upsert_in_plain_transaction[0].record.title.split()[-1]) >= 1


def test_prepare_lets_a_batch_make_one_segment_of_larger_leaves(sqlite_engine: Engine) -> None:
    query = "SELECT k, v FROM papers_fts_config WHERE k IN ('hashsize', 'pgsz') ORDER BY k"
    bulk_lexical.prepare(sqlite_engine)
    bulk_lexical.prepare(sqlite_engine)  # once is enough; again changes nothing
    with sqlite_engine.connect() as conn:
        assert conn.exec_driver_sql(query).all() == [
            ("hashsize", bulk_lexical.HASH_BYTES),
            ("pgsz", bulk_lexical.LEAF_BYTES),
        ]
    load_in_batches(sqlite_engine, 1)
    with write_transaction(sqlite_engine) as conn:  # raises if the index and papers disagree
        conn.exec_driver_sql("INSERT INTO papers_fts(papers_fts) VALUES ('integrity-check')")


def test_an_error_the_caller_ignores_still_leaves_the_trigger(sqlite_engine: Engine) -> None:
    with (
        write_transaction(sqlite_engine) as conn,  # committed after all
        suppress(RuntimeError),
        bulk_lexical.indexed_at_the_end(conn),
    ):
        raise RuntimeError("a batch error its caller chose to ignore")
    with sqlite_engine.connect() as conn:
        assert trigger_in(conn.connection.driver_connection)  # type: ignore[arg-type]


def test_a_trigger_not_as_migrated_is_left_to_do_its_own_work(
    sqlite_engine: Engine, caplog: pytest.LogCaptureFixture
) -> None:
    changed = (
        "CREATE TRIGGER papers_fts_insert AFTER INSERT ON papers WHEN new.title <> '' BEGIN"
        " INSERT INTO papers_fts(rowid, title, abstract) VALUES (new.pk, new.title, new.abstract);"
        " END"
    )
    with write_transaction(sqlite_engine) as conn:
        conn.exec_driver_sql("DROP TRIGGER papers_fts_insert")
        conn.exec_driver_sql(changed)
    batch = records(5)
    with write_transaction(sqlite_engine) as conn, bulk_lexical.indexed_at_the_end(conn):
        upsert_batch(conn, batch)
    assert "not as migrated" in caplog.text
    with sqlite_engine.connect() as conn:
        query = "SELECT sql FROM sqlite_master WHERE name = 'papers_fts_insert'"
        assert conn.exec_driver_sql(query).scalar_one() == changed
    assert matching(sqlite_engine, batch[0].record.title.split()[0]) >= 1  # indexed once, by it


def segments(engine: Engine) -> int:
    with engine.connect() as conn:
        query = "SELECT count(DISTINCT segid) FROM papers_fts_idx"
        return int(conn.exec_driver_sql(query).scalar_one())


def automerge(engine: Engine) -> int | None:
    with engine.connect() as conn:
        query = "SELECT v FROM papers_fts_config WHERE k = 'automerge'"
        value = conn.exec_driver_sql(query).scalar()
        return None if value is None else int(value)


def load_in_batches(engine: Engine, batches: int, *, leaf_bytes: int | None = None) -> None:
    bulk_lexical.prepare(engine)
    if leaf_bytes is not None:
        with write_transaction(engine) as conn:
            conn.exec_driver_sql(
                "INSERT INTO papers_fts(papers_fts, rank) VALUES ('pgsz', ?)", (leaf_bytes,)
            )
    rows = records(batches * 3)
    for start in range(0, len(rows), 3):
        with write_transaction(engine) as conn, bulk_lexical.indexed_at_the_end(conn):
            upsert_batch(conn, rows[start : start + 3])


def test_a_bulk_load_merges_segments_less_often(sqlite_engine: Engine) -> None:
    # FTS5 does merge work once every 64 leaves written: tiny leaves make a few papers enough.
    load_in_batches(sqlite_engine, 6, leaf_bytes=32)
    # Each batch made one segment; FTS5's default policy would have merged the first 4.
    assert segments(sqlite_engine) == 6
    assert automerge(sqlite_engine) == bulk_lexical.DEFAULT_AUTOMERGE  # as it was, after each


def test_the_configured_merge_policy_is_put_back(sqlite_engine: Engine) -> None:
    with write_transaction(sqlite_engine) as conn:
        conn.exec_driver_sql("INSERT INTO papers_fts(papers_fts, rank) VALUES ('automerge', 2)")
    load_in_batches(sqlite_engine, 2)
    assert automerge(sqlite_engine) == 2


def test_merging_after_a_load_leaves_few_segments_and_the_same_index(sqlite_engine: Engine) -> None:
    load_in_batches(sqlite_engine, 12, leaf_bytes=32)
    before = segments(sqlite_engine)
    assert before >= 8  # the load merged none of the segments on its levels of up to 15
    word = records(1)[0].record.title.split()[0]
    found = matching(sqlite_engine, word)
    assert bulk_lexical.merge_segments(sqlite_engine) >= 2  # merged, then found nothing left
    assert segments(sqlite_engine) < 4
    assert matching(sqlite_engine, word) == found
    with write_transaction(sqlite_engine) as conn:  # raises if the index and papers disagree
        conn.exec_driver_sql("INSERT INTO papers_fts(papers_fts) VALUES ('integrity-check')")
    assert bulk_lexical.merge_segments(sqlite_engine) == 1  # nothing more to merge


def test_a_failed_index_statement_puts_the_merge_policy_back_even_if_committed(
    sqlite_engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(bulk_lexical, "_INDEX_NEW_PAPERS", "SELECT no_such FROM papers WHERE ?")
    with (
        write_transaction(sqlite_engine) as conn,  # committed after all
        suppress(OperationalError),
        bulk_lexical.indexed_at_the_end(conn),
    ):
        upsert_batch(conn, records(3))
    assert automerge(sqlite_engine) in (None, bulk_lexical.DEFAULT_AUTOMERGE)
    with sqlite_engine.connect() as conn:
        assert trigger_in(conn.connection.driver_connection)  # type: ignore[arg-type]


def test_a_file_with_small_pages_keeps_fts5s_leaf_size(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    with sqlite3.connect(path) as plain:  # as earlier versions made it
        plain.execute("PRAGMA page_size=4096")
        plain.execute("PRAGMA journal_mode=WAL")
    engine = make_engine(f"sqlite:///{path}")
    migrate.upgrade(engine)
    bulk_lexical.prepare(engine)
    with engine.connect() as conn:
        query = "SELECT k FROM papers_fts_config WHERE k IN ('hashsize', 'pgsz')"
        assert conn.exec_driver_sql(query).scalars().all() == ["hashsize"]
    engine.dispose()


def test_the_next_ingest_merges_what_a_killed_bulk_load_left(
    sqlite_engine: Engine, tmp_path: Path
) -> None:
    load_in_batches(sqlite_engine, 12, leaf_bytes=32)  # killed before its final merge
    assert segments(sqlite_engine) >= 8
    path = tmp_path / "one.jsonl"
    path.write_bytes(orjson.dumps({"title": "One more paper", "abstract": "Its text."}) + b"\n")
    run_ingest(sqlite_engine, file_source(str(path), "jsonl", ParseOptions()), bulk=False)
    assert segments(sqlite_engine) < 4
