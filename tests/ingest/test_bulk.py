"""The bulk path of ingest: parsing in a second process, and secondary indexes built at the end.

Each test compares with the plain path (one process, indexes kept paper by paper) on the same
real records: the store must end up the same, whatever the path. Both backends (on PostgreSQL
the indexes are never deferred; the parser process works the same).
"""

from __future__ import annotations

import gzip
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import orjson
import pytest
from sqlalchemy import Engine

from paperfeed.ingest import feeder as feeder_module
from paperfeed.ingest.feeder import Feeder
from paperfeed.ingest.formats import IngestError, ParseOptions
from paperfeed.ingest.normalise import Prepared
from paperfeed.ingest.service import IngestFailed, run_ingest
from paperfeed.ingest.sources import file_source
from paperfeed.store import bulk_lexical, deferred_indexes
from paperfeed.store.engine import is_sqlite, write_transaction
from tests.conftest import arxiv_volume
from tests.store.dbstate import counts, digest

BATCH = 200


def feed_lines(count: int = 1_200) -> list[bytes]:
    """Real records, plus what makes merging work: a later version of an earlier paper, a
    record without an id whose title is an arXiv paper's, and a title-only record twice."""
    rows: list[dict[str, Any]] = list(arxiv_volume(count))
    if count > 1_100:
        rows[700] = rows[100] | {"id": f"{rows[100]['id']}v2", "abstract": "A revised abstract."}
        rows[900] = {"title": rows[300]["title"].upper(), "abstract": "Same work, no id."}
        rows[1000] = rows[1100] = {"title": "A paper only a page lists", "abstract": "Text."}
    return [orjson.dumps(row) for row in rows]


def write(lines: list[bytes], path: Path) -> Path:
    path.write_bytes(b"\n".join(lines) + b"\n")
    return path


def ingest(engine: Engine, path: Path, fast: bool, **options: Any) -> Any:
    source = file_source(str(path), "jsonl", ParseOptions())
    return run_ingest(engine, source, batch_size=BATCH, parallel=fast, bulk=fast, **options)


def test_the_bulk_path_stores_what_the_plain_path_stores(
    engine: Engine,
    fresh_engine: Engine,
    tmp_path: Path,
) -> None:
    path = write(feed_lines(), tmp_path / "feed.jsonl")
    plain = ingest(fresh_engine, path, fast=False)
    stages: list[str] = []
    fast = ingest(engine, path, fast=True, stage=stages.append)

    assert (fast.read, fast.counts, fast.errors) == (plain.read, plain.counts, plain.errors)
    assert plain.counts.inserted == 1_200 - 3  # the v2, the id-less twin and the repeat merged
    assert counts(engine) == counts(fresh_engine)
    assert digest(engine) == digest(fresh_engine)
    with engine.connect() as conn:
        assert deferred_indexes.missing(conn) == []
    if is_sqlite(engine):
        with engine.connect() as conn:  # checked by none of the bulk batches (store.engine)
            assert conn.exec_driver_sql("PRAGMA foreign_key_check").all() == []
        # The title index came back mid-load, for the records without an id.
        built_at_end = [n for n in deferred_indexes.DEFERRED if n != deferred_indexes.TITLE_INDEX]
        assert stages == [f"building index {name}" for name in built_at_end] + [
            "merging the lexical index"
        ]


def lexical_index(engine: Engine) -> list[tuple[Any, ...]]:
    """Every term of the lexical index with the paper, column and place it was found at."""
    with engine.connect() as conn:
        conn.exec_driver_sql(
            "CREATE VIRTUAL TABLE IF NOT EXISTS temp.vocab"
            " USING fts5vocab(main, papers_fts, 'instance')"
        )
        query = (
            "SELECT v.term, p.id, v.col, v.offset FROM temp.vocab v JOIN papers p ON p.pk = v.doc"
            " ORDER BY 1, 2, 3, 4"
        )
        return [tuple(row) for row in conn.exec_driver_sql(query)]


def insert_trigger(engine: Engine) -> str:
    with engine.connect() as conn:
        query = "SELECT sql FROM sqlite_master WHERE name = 'papers_fts_insert'"
        return str(conn.exec_driver_sql(query).scalar_one())


def test_a_bulk_load_indexes_every_paper_for_search_as_the_plain_path_does(
    engine: Engine, fresh_engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    if not is_sqlite(engine):
        pytest.skip("PostgreSQL's lexical index is a generated column, the same on both paths")
    batches: list[object] = []
    real = bulk_lexical.indexed_at_the_end

    def counted(conn: Any) -> Any:
        batches.append(conn)
        return real(conn)

    monkeypatch.setattr(bulk_lexical, "indexed_at_the_end", counted)
    path = write(feed_lines(), tmp_path / "feed.jsonl")
    ingest(fresh_engine, path, fast=False)
    assert batches == []
    ingest(engine, path, fast=True)
    assert len(batches) == 1_200 // BATCH  # every batch of the bulk load, one statement each

    indexed = lexical_index(engine)
    assert len({paper for _, paper, _, _ in indexed}) == 1_200 - 3
    assert indexed == lexical_index(fresh_engine)
    assert insert_trigger(engine) == insert_trigger(fresh_engine)  # back, as migrated
    later = write([b'{"title": "Zyxwvut quasiparticles", "abstract": "Text."}'], tmp_path / "x")
    ingest(engine, later, fast=False)
    with engine.connect() as conn:  # the trigger indexes what comes after the bulk load
        query = "SELECT count(*) FROM papers_fts WHERE papers_fts MATCH 'zyxwvut'"
        assert conn.exec_driver_sql(query).scalar_one() == 1


def test_a_bulk_path_stopped_by_a_bad_record_resumes_like_the_plain_path(
    engine: Engine,
    fresh_engine: Engine,
    tmp_path: Path,
) -> None:
    lines = feed_lines()
    lines[449] = b'{"title": "cut short'
    path = write(lines, tmp_path / "feed.jsonl")
    with pytest.raises(IngestFailed) as failure:
        ingest(engine, path, fast=True)
    assert failure.value.error.location == f"{path} line 450"
    assert counts(engine)["papers"] == 400  # whole batches only
    with engine.connect() as conn:
        assert deferred_indexes.missing(conn) == []  # built again when it stopped

    resumed = ingest(engine, path, fast=True, on_error="skip")
    assert resumed.skipped_resumed == 400
    assert [e.location for e in resumed.errors] == [f"{path} line 450"]
    ingest(fresh_engine, path, fast=False, on_error="skip")
    assert digest(engine) == digest(fresh_engine)


def test_indexes_left_out_by_an_unfinished_bulk_load_come_back(
    engine: Engine, tmp_path: Path
) -> None:
    deferred_indexes.drop(engine)  # what a bulk load killed before its end leaves
    if is_sqlite(engine):  # and, of earlier versions, the day indexes too
        with write_transaction(engine) as conn:
            conn.exec_driver_sql("DROP INDEX ix_papers_day")
            conn.exec_driver_sql("DROP INDEX ix_papers_featured_day")
    with engine.connect() as conn:
        expected = list(deferred_indexes.BUILT_IF_MISSING) if is_sqlite(engine) else []
        assert deferred_indexes.missing(conn) == expected
    ingest(engine, write(feed_lines(50), tmp_path / "small.jsonl"), fast=False)
    with engine.connect() as conn:
        assert deferred_indexes.missing(conn) == []


def test_a_record_without_an_id_brings_the_title_index_back_mid_load(
    engine: Engine, tmp_path: Path
) -> None:
    if not is_sqlite(engine):
        pytest.skip("PostgreSQL keeps its indexes")
    lines = feed_lines(600)
    path = write(lines[:300], tmp_path / "arxiv.jsonl")
    ingest(engine, path, fast=True)
    deferred_indexes.drop(engine)  # as during a bulk load
    title_only = write([orjson.dumps({"title": "Only a title", "abstract": "x"})], tmp_path / "t")
    run_ingest(engine, file_source(str(title_only), "jsonl", ParseOptions()), bulk=True)
    with engine.connect() as conn:
        assert deferred_indexes.missing(conn) == []


def test_the_parser_process_yields_records_and_errors_in_file_order(tmp_path: Path) -> None:
    lines = feed_lines(1_100)
    lines[3] = b"not json"
    path = write(lines, tmp_path / "feed.jsonl")
    feeder = Feeder(str(path), "jsonl", ParseOptions(), skip=2)
    entries = list(feeder)
    assert entries[:2] == [None, None]  # committed by an earlier run: not parsed again
    assert [type(e).__name__ for e in entries[2:5]] == ["Prepared", "RecordError", "Prepared"]
    assert len(entries) == 1_100
    assert feeder.position == path.stat().st_size
    prepared = entries[4]
    assert isinstance(prepared, Prepared) and prepared.rows is not None
    assert prepared.record.title == orjson.loads(lines[4])["title"]  # decoded on demand


def test_a_corrupt_file_fails_in_the_parser_process_with_its_name(tmp_path: Path) -> None:
    body = gzip.compress(b"\n".join(feed_lines(400)))
    path = tmp_path / "feed.jsonl.gz"
    path.write_bytes(body[: len(body) // 2])
    feeder = Feeder(str(path), "jsonl", ParseOptions(), skip=0)
    with pytest.raises(IngestError, match=r"feed\.jsonl\.gz: corrupt or truncated gzip"):
        list(feeder)
    assert feeder._process.poll() is not None


def test_a_parser_process_that_dies_is_an_ingest_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = write(feed_lines(50), tmp_path / "feed.jsonl")
    feeder = Feeder(str(path), "jsonl", ParseOptions(), skip=0)
    feeder._process.kill()
    with pytest.raises(IngestError, match="parser process stopped unexpectedly"):
        list(feeder)


def test_small_files_and_streams_are_parsed_in_process(tmp_path: Path) -> None:
    path = write(feed_lines(10), tmp_path / "feed.jsonl")
    source = file_source(str(path), "jsonl", ParseOptions())
    assert feeder_module.feeder_for(source, 0, parallel=None) is None
    assert feeder_module.feeder_for(source, 0, parallel=False) is None
    stdin = file_source("-", "jsonl", ParseOptions())
    assert feeder_module.feeder_for(stdin, 0, parallel=True) is None
    forced = feeder_module.feeder_for(source, 0, parallel=True)
    assert forced is not None
    forced.close()


# A few chunks more than the child's queue holds (a widened pipe holds up to ~6 more): once the
# parent stops reading, the child has read the whole file, or nearly, and waits to queue what
# is left. Twice the queue: it waits while reading.
@pytest.mark.parametrize("chunks", [feeder_module.AHEAD_CHUNKS + 8, 2 * feeder_module.AHEAD_CHUNKS])
def test_the_parser_process_ends_when_its_parent_stops_listening(
    tmp_path: Path, chunks: int
) -> None:
    records = chunks * feeder_module.CHUNK_RECORDS
    path = write(feed_lines(records), tmp_path / "feed.jsonl")
    feeder = Feeder(str(path), "jsonl", ParseOptions(), skip=0)
    assert feeder._receive()  # the child is at work; then the parent goes, as if killed
    time.sleep(3)  # time to parse the file and fill the queue
    feeder._stream.close()
    assert feeder._process.wait(timeout=30) == 0


def test_a_script_without_a_main_guard_can_ingest_in_parallel(tmp_path: Path) -> None:
    # A multiprocessing child would import this script again (and fail in its bootstrap).
    path = write(feed_lines(300), tmp_path / "feed.jsonl")
    script = tmp_path / "load.py"
    script.write_text(
        "from paperfeed.ingest.formats import ParseOptions\n"
        "from paperfeed.ingest.service import run_ingest\n"
        "from paperfeed.ingest.sources import file_source\n"
        "from paperfeed.store import migrate\n"
        "from paperfeed.store.engine import make_engine\n"
        f"engine = make_engine('sqlite:///{tmp_path / 'script.db'}')\n"
        "migrate.upgrade(engine)\n"
        f"source = file_source({str(path)!r}, 'jsonl', ParseOptions())\n"
        "print(run_ingest(engine, source, parallel=True).counts.inserted)\n"
    )
    done = subprocess.run(
        [sys.executable, str(script)], capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "300"


def test_a_failed_final_merge_leaves_the_load_standing(
    engine: Engine,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    if not is_sqlite(engine):
        pytest.skip("PostgreSQL's lexical index has no segments to merge")

    def locked(_engine: Engine) -> int:
        raise RuntimeError("database is locked")

    monkeypatch.setattr(bulk_lexical, "merge_segments", locked)
    report = ingest(engine, write(feed_lines(300), tmp_path / "feed.jsonl"), fast=True)
    assert report.counts.inserted == 300
    assert "left unmerged" in caplog.text  # the next ingest merges it
