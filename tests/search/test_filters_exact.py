"""Filters are filters: author names under one normalisation, hidden papers, a paper's day
(the store's read model) and DOIs, on both backends."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from sqlalchemy import Engine, update

from paperfeed.domain import PaperRecord
from paperfeed.search.engine import EngineConfig
from paperfeed.search.indexer import DenseRetriever, update_index
from paperfeed.search.service import search
from paperfeed.store.author_keys import author_key, author_match
from paperfeed.store.engine import write_transaction
from paperfeed.store.schema import papers
from tests.factories import add_papers
from tests.search.dense_helpers import CachedEmbedder, real_papers, store_papers

AUTHORS = {
    "2501.00001": ["Yang Li"],
    "2501.00002": ["Yang Liu"],
    "2501.00003": ["Zhongyang Li", "Ada Lovelace"],
    "2501.00004": ["Y. Li"],
    "2501.00005": ["Yu  Li"],
    "2501.00006": ["José García"],
    "2501.00007": ["Jiyang Li"],
    "2501.00008": ["YANG LI", "Ada Lovelace"],
}


def _record(paper_id: str, authors: list[str], **fields: object) -> PaperRecord:
    return PaperRecord(
        id=paper_id,
        title=f"Sparse attention study {paper_id}",
        abstract="We study sparse attention for long documents.",
        authors=authors,
        categories=["cs.CL"],
        published=date(2025, 1, int(paper_id[-1]) + 1),
        **fields,  # type: ignore[arg-type]
    )


@pytest.fixture
def store(engine: Engine) -> Engine:
    add_papers(engine, *[_record(pid, names) for pid, names in AUTHORS.items()])
    return engine


def ids(engine: Engine, query: str, sort: str = "relevance") -> set[str]:
    found = search(engine, query, 100, 0, sort)  # type: ignore[arg-type]
    assert found.total == len(found.results), query
    return {r.id for r in found.results}


def test_author_key() -> None:
    assert author_key("Yang Li") == author_key(" YANG   li ") == author_key("Yáng Li") == "li yang"
    assert author_key("Jean-Pierre Dupont") == "dupont jean pierre"
    assert author_match("Y. Li") == author_match("y li")
    assert author_match("Y. Li") is not None and author_match("Y. Li").prefix  # type: ignore[union-attr]
    assert author_match("...") is None


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ('author:"Yang Li"', {"2501.00001", "2501.00008"}),  # case and spacing, not Yang Liu
        ('author:"yang   LI"', {"2501.00001", "2501.00008"}),
        ('author:"Y. Li"', {"2501.00001", "2501.00004", "2501.00005", "2501.00008"}),
        ('author:"jose garcia"', {"2501.00006"}),  # accents
        (
            "author:Li",
            {"2501.00001", "2501.00003", "2501.00004", "2501.00005", "2501.00007", "2501.00008"},
        ),
        ('author:"Ada Lovelace" author:Li', {"2501.00003", "2501.00008"}),
        ('author:"Nobody Here"', set()),
    ],
)
def test_author_filter_over_every_match(store: Engine, query: str, expected: set[str]) -> None:
    assert ids(store, query) == expected  # a filter only
    assert ids(store, f"sparse attention {query}") == expected  # with words


def test_hidden_papers_leave_totals_and_pages(store: Engine) -> None:
    with write_transaction(store) as conn:
        conn.execute(
            update(papers).where(papers.c.id == "2501.00001").values(hidden_at=datetime.now(UTC))
        )
    assert ids(store, 'author:"Yang Li"') == {"2501.00008"}
    for sort in ("relevance", "date", "upvotes"):
        assert "2501.00001" not in ids(store, "sparse attention", sort)
        assert search(store, "sparse", 1, 0, sort).total == len(AUTHORS) - 1  # type: ignore[arg-type]


def test_a_papers_day_is_its_featured_day(engine: Engine) -> None:
    # Published long ago, featured (listed here) on 2026-05-04: the pages show it under that
    # day, and search filters and sorts by the same day.
    add_papers(
        engine,
        _record("2501.00001", ["A B"], featured_day=date(2026, 5, 4)),
        _record("2501.00002", ["A B"]),
    )
    assert ids(engine, "sparse year:2026") == {"2501.00001"}
    newest = search(engine, "sparse", 10, 0, "date").results
    assert [r.id for r in newest] == ["2501.00001", "2501.00002"]
    assert newest[0].published == date(2026, 5, 4)


@pytest.mark.parametrize(
    "query",
    [
        "10.1234/Example.5678",
        "10.1234/example.5678",
        "doi:10.1234/EXAMPLE.5678",
        "https://doi.org/10.1234/example.5678",
        "doi.org/10.1234/example.5678",
    ],
)
def test_a_stored_doi_goes_to_its_paper(engine: Engine, query: str) -> None:
    add_papers(engine, _record("2501.00001", ["A B"], doi="10.1234/Example.5678"))
    add_papers(engine, _record("2501.00002", ["A B"]))
    found = search(engine, query)
    assert [r.id for r in found.results] == ["2501.00001"] and found.total == 1


@pytest.mark.parametrize(
    "query",
    [
        "arxiv.org/abs/2501.00002v1",
        "arxiv.org/pdf/2501.00002v2.pdf",
        "https://arxiv.org/pdf/2501.00002",
        "www.arxiv.org/abs/2501.00002",
        "10.48550/arXiv.2501.00002",
        "https://doi.org/10.48550/arXiv.2501.00002",
    ],
)
def test_every_form_of_an_arxiv_address(store: Engine, query: str) -> None:
    assert search(store, query).results[0].id == "2501.00002"


def test_an_old_style_id(engine: Engine) -> None:
    add_papers(engine, _record("hep-th/9901001", ["A B"]), _record("2501.00002", ["A B"]))
    for query in ("hep-th/9901001", "hep-th/9901001v2", "arxiv.org/abs/hep-th/9901001v1"):
        assert search(engine, query).results[0].id == "hep-th/9901001", query


def test_migration_keys_the_authors_already_stored(store: Engine) -> None:
    # Back to the schema before author keys, then up again: the keys are filled in for the
    # names stored meanwhile, and author: finds them.
    from paperfeed.store import migrate

    migrate.downgrade(store, "0007")
    migrate.upgrade(store)
    assert ids(store, 'author:"jose garcia"') == {"2501.00006"}
    assert ids(store, 'author:"Y. Li"') == {"2501.00001", "2501.00004", "2501.00005", "2501.00008"}


def test_nonsense_gets_nothing_from_the_dense_side(engine: Engine) -> None:
    # The model always has nearest papers; below its calibrated floor they are not results.
    # A query with words keeps the papers that hold them, whatever their dense score.
    store_papers(engine, real_papers())
    update_index(engine, CachedEmbedder())
    retriever = DenseRetriever(CachedEmbedder())
    without_floor = search(
        engine, "xyzzyqq", retriever=retriever, config=EngineConfig(dense_floor=0.0)
    )
    assert without_floor.total > 0  # what the floor removes
    found = search(engine, "xyzzyqq", retriever=retriever)
    assert found.total == 0 and found.results == []
    title = str(real_papers()[0]["title"])
    assert search(engine, title, retriever=retriever).results[0].id == real_papers()[0]["id"]
