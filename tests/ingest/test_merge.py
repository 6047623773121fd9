"""One record per work: spellings, versions and sources of one paper merge; re-ingesting is a no-op.

Every test runs on SQLite and PostgreSQL (the ``engine`` fixture), through ``run_ingest``.
"""

from __future__ import annotations

from datetime import date

import orjson
import pytest
from sqlalchemy import Engine

from paperfeed.domain import Link, Paper, PaperRecord, Version
from paperfeed.ingest.ids import synthetic_id
from paperfeed.ingest.service import IngestReport, run_ingest
from paperfeed.store.papers import count_papers, get_paper
from tests.conftest import ARXIV_SAME_TITLE, arxiv_rows
from tests.store.dbstate import ListSource, counts, digest, to_record

# Two real arXiv papers (2505.17997 and 2506.03038) that carry the same title.
SAME_TITLE_IDS = ("2505.17997", "2506.03038")
SAME_TITLE_ROWS = [orjson.loads(line) for line in ARXIV_SAME_TITLE.read_bytes().splitlines()]


def ingest(
    engine: Engine, *records: PaperRecord, key: str = "src", batch: int = 100
) -> IngestReport:
    return run_ingest(engine, ListSource(list(records), key=key), batch_size=batch)


def paper(engine: Engine, paper_id: str) -> Paper:
    with engine.connect() as conn:
        found = get_paper(conn, paper_id)
    assert found is not None, f"{paper_id} is not stored"
    return found


def n_papers(engine: Engine) -> int:
    with engine.connect() as conn:
        return count_papers(conn)


@pytest.fixture(scope="module")
def real() -> dict[str, object]:
    return arxiv_rows(1)[0]


def title_only(row: dict[str, object]) -> PaperRecord:
    """The paper as a seed page shows it: a differently spaced and cased title, an abstract."""
    title = str(row["title"])
    return PaperRecord(
        title="  " + title.upper().replace(" ", "  ") + "\n",
        abstract=str(row["abstract"]),
        featured_day=date(2025, 3, 14),
    )


def arxiv(row: dict[str, object], spelling: str) -> PaperRecord:
    record = to_record(row)
    record.id = spelling.format(id=row["id"])
    return record


@pytest.mark.parametrize("batch", [1, 100], ids=["batch-per-record", "one-batch"])
@pytest.mark.parametrize("title_first", [True, False], ids=["title-first", "arxiv-first"])
def test_one_paper_from_two_sources_and_three_spellings_is_one_row(
    engine: Engine, real: dict[str, object], batch: int, title_first: bool
) -> None:
    page = title_only(real)
    listings = [
        arxiv(real, "arXiv:{id}v1"),
        arxiv(real, "https://arxiv.org/abs/{id}v3"),
        arxiv(real, "{id}"),
    ]
    records = [page, *listings] if title_first else [*listings, page]
    ingest(engine, *records, batch=batch)

    assert n_papers(engine) == 1
    stored = paper(engine, str(real["id"]))
    assert [v.number for v in stored.versions] == [1, 3]
    assert stored.authors == real["authors"]
    assert stored.categories == real["categories"]
    assert stored.featured_day == date(2025, 3, 14)
    with engine.connect() as conn:
        assert get_paper(conn, synthetic_id(str(real["title"]))) is None


def test_versions_accumulate_across_ingests(engine: Engine, real: dict[str, object]) -> None:
    ingest(engine, arxiv(real, "{id}v1"), key="monday")
    ingest(engine, arxiv(real, "https://arxiv.org/pdf/{id}v3.pdf"), key="friday")
    ingest(engine, arxiv(real, "{id}v1"), key="monday-again")
    assert n_papers(engine) == 1
    assert [v.number for v in paper(engine, str(real["id"])).versions] == [1, 3]


def test_two_arxiv_papers_with_one_title_stay_two_papers(engine: Engine) -> None:
    rows = SAME_TITLE_ROWS
    assert [row["id"] for row in rows] == list(SAME_TITLE_IDS)
    ingest(engine, to_record(rows[0]), key="a")
    ingest(engine, to_record(rows[1]), key="b")
    assert n_papers(engine) == 2
    assert paper(engine, SAME_TITLE_IDS[0]).title == paper(engine, SAME_TITLE_IDS[1]).title


def test_a_title_only_paper_takes_its_arxiv_id_once(engine: Engine) -> None:
    """A page lists the title first; arXiv brings two papers of that title: one takes it over."""
    rows = SAME_TITLE_ROWS
    ingest(engine, title_only(rows[0]), key="page")
    ingest(engine, *(to_record(row) for row in rows), key="arxiv")
    assert n_papers(engine) == 2
    assert paper(engine, SAME_TITLE_IDS[0]).featured_day == date(2025, 3, 14)
    assert paper(engine, SAME_TITLE_IDS[1]).featured_day is None


def test_title_only_record_lands_on_the_same_paper_whatever_the_batch_size(
    database_url: str,
) -> None:
    """Where a record goes must not depend on how records were cut into batches: a resumed
    ingest (or a different PAPERFEED_INGEST_BATCH_SIZE) must reach the same final state."""
    from paperfeed.store import migrate
    from paperfeed.store.engine import make_engine

    rows = SAME_TITLE_ROWS
    records = [to_record(rows[0]), to_record(rows[1]), title_only(rows[0])]
    states = []
    for batch in (1, 3):
        engine = make_engine(database_url)
        migrate.upgrade(engine)
        ingest(engine, *records, batch=batch)
        states.append(
            {i: paper(engine, i).featured_day for i in SAME_TITLE_IDS} | {"n": n_papers(engine)}
        )
        _wipe(engine)
        engine.dispose()
    assert states[0] == states[1]


def _wipe(engine: Engine) -> None:
    from paperfeed import services

    services.reset_database(engine)


def test_reingesting_a_source_changes_nothing(engine: Engine) -> None:
    rows = arxiv_rows(1_500)
    records = [to_record(row, f"daily.jsonl line {i}") for i, row in enumerate(rows, 1)]
    records.append(arxiv(rows[1], "https://arxiv.org/abs/{id}v2"))  # the same work, again
    first = run_ingest(engine, ListSource(records, key="daily"), batch_size=400)
    assert first.counts.inserted == 1_500
    before_counts, before = counts(engine), digest(engine, strict=True)

    again = run_ingest(engine, ListSource(records, key="daily"), batch_size=400)

    assert (again.counts.inserted, again.counts.updated) == (0, 0)
    assert counts(engine) == before_counts
    assert digest(engine, strict=True) == before


def test_a_sparse_source_never_erases_richer_data(engine: Engine, real: dict[str, object]) -> None:
    rich = arxiv(real, "{id}v2")
    rich.versions = [Version(1, date(2025, 3, 14)), Version(2, date(2025, 3, 20))]
    rich.published, rich.updated = date(2025, 3, 14), date(2025, 3, 20)
    rich.doi, rich.journal_ref, rich.comment = "10.1000/xyz", "Proc. Test 2025", "12 pages"
    rich.links = [Link("code", "https://github.com/example/gs-sim", 120)]
    rich.upvotes, rich.submitter = 42, "akhaliq"
    ingest(engine, rich, key="arxiv")
    before = paper(engine, str(real["id"]))

    sparse = [
        title_only(real),  # a seed page: title, abstract, featured day
        PaperRecord(title=str(real["title"]), abstract="", id=str(real["id"])),  # a bare id list
        PaperRecord(  # a code index that knows the repository but not its stars today
            title=str(real["title"]),
            abstract="",
            id=f"arXiv:{real['id']}",
            links=[Link("code", "https://github.com/example/gs-sim")],
        ),
    ]
    for i, record in enumerate(sparse):
        ingest(engine, record, key=f"sparse-{i}")

    after = paper(engine, str(real["id"]))
    assert n_papers(engine) == 1
    assert after.abstract == before.abstract
    assert after.authors == before.authors
    assert after.categories == before.categories
    assert after.versions == before.versions
    assert (after.published, after.updated) == (before.published, before.updated)
    assert (after.doi, after.journal_ref, after.comment) == (
        before.doi,
        before.journal_ref,
        before.comment,
    )
    assert after.links == [Link("code", "https://github.com/example/gs-sim", 120)]
    assert (after.upvotes, after.submitter) == (42, "akhaliq")
    assert after.featured_day == date(2025, 3, 14)
