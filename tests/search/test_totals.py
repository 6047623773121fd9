"""True totals and pages over every match (search.matches), on both backends.

The counts are checked against the data with SQL of the test's own (the index's MATCH /
tsquery, the category table), never against what the engine said before.
"""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import Connection, Engine, text

from paperfeed.search.service import SearchResults, search

PAGE = 20


def word_count(conn: Connection, word: str) -> int:
    """Papers holding ``word``, as the backend's full-text index says."""
    if conn.dialect.name == "sqlite":
        sql = "SELECT count(*) FROM papers_fts WHERE papers_fts MATCH :w"
    else:
        sql = "SELECT count(*) FROM papers WHERE search_vector @@ plainto_tsquery('english', :w)"
    return int(conn.execute(text(sql), {"w": word}).scalar_one())


def every_page(engine: Engine, query: str, sort: str = "relevance") -> tuple[int, list[str]]:
    """Read every page of ``query``; each must state the first page's total."""
    first = search(engine, query, PAGE, 0, sort)  # type: ignore[arg-type]
    ids = [r.id for r in first.results]
    for offset in range(PAGE, first.total + PAGE, PAGE):
        page = search(engine, query, PAGE, offset, sort)  # type: ignore[arg-type]
        assert page.total == first.total, (offset, page.total, first.total)
        ids += [r.id for r in page.results]
    return first.total, ids


def days(results: SearchResults) -> list[Any]:
    return [r.published for r in results.results]


@pytest.mark.parametrize("sort", ["relevance", "date", "upvotes"])
def test_a_word_total_is_every_paper_holding_it(corpus: Engine, sort: str) -> None:
    with corpus.connect() as conn:
        expected = word_count(conn, "segmentation")
    assert expected > 3 * PAGE  # several pages, the last one reachable
    total, ids = every_page(corpus, "segmentation", sort)
    assert total == expected
    assert len(ids) == total and len(set(ids)) == total  # none repeated, none dropped


def test_past_the_last_page_is_empty_and_keeps_the_total(corpus: Engine) -> None:
    found = search(corpus, "segmentation", PAGE, 10_000)
    assert found.results == [] and found.total == search(corpus, "segmentation", 1).total


def test_category_filter_lists_every_paper_of_the_category_newest_first(corpus: Engine) -> None:
    with corpus.connect() as conn:
        sql = "SELECT count(DISTINCT paper_pk) FROM paper_categories WHERE category = 'cs.CL'"
        expected = int(conn.execute(text(sql)).scalar_one())
    total, ids = every_page(corpus, "cat:cs.cl")  # any case
    assert total == expected > PAGE and len(set(ids)) == total
    first = search(corpus, "cat:cs.CL", 200)
    assert days(first) == sorted(days(first), reverse=True)
    assert all("cs.CL" in r.categories for r in first.results)


def test_a_whole_archive(corpus: Engine) -> None:
    with corpus.connect() as conn:
        sql = "SELECT count(DISTINCT paper_pk) FROM paper_categories WHERE category LIKE 'cs.%'"
        expected = int(conn.execute(text(sql)).scalar_one())
    assert search(corpus, "cat:cs", 1).total == expected


def test_word_and_filter_total(corpus: Engine) -> None:
    with corpus.connect() as conn:
        if conn.dialect.name == "sqlite":
            sql = (
                "SELECT count(*) FROM papers_fts f JOIN paper_categories c"
                " ON c.paper_pk = f.rowid AND c.category = 'cs.CV'"
                " WHERE papers_fts MATCH 'segmentation'"
            )
        else:
            sql = (
                "SELECT count(*) FROM papers p JOIN paper_categories c"
                " ON c.paper_pk = p.pk AND c.category = 'cs.CV'"
                " WHERE p.search_vector @@ plainto_tsquery('english', 'segmentation')"
            )
        expected = int(conn.execute(text(sql)).scalar_one())
    total, ids = every_page(corpus, "segmentation cat:cs.CV")
    assert total == expected and len(set(ids)) == total


def test_sort_by_date_orders_every_match(corpus: Engine) -> None:
    total, _ = every_page(corpus, "segmentation", "date")
    everything = search(corpus, "segmentation", 1000, 0, "date")
    assert len(everything.results) == total
    assert days(everything) == sorted(days(everything), reverse=True)


def test_excluded_word_total(corpus: Engine) -> None:
    with corpus.connect() as conn:
        both = word_count(conn, "segmentation") - (
            int(
                conn.execute(
                    text(
                        "SELECT count(*) FROM papers_fts WHERE papers_fts MATCH"
                        " 'segmentation AND medical'"
                    )
                    if conn.dialect.name == "sqlite"
                    else text(
                        "SELECT count(*) FROM papers WHERE search_vector @@"
                        " plainto_tsquery('english', 'segmentation medical')"
                    )
                ).scalar_one()
            )
        )
    found = search(corpus, "segmentation -medical", 100)
    assert found.total == both
    assert all("medical" not in r.title.lower() for r in found.results)


def test_nonsense_has_no_results(corpus: Engine) -> None:
    found = search(corpus, "xyzzyqq")
    assert found.total == 0 and found.results == []


def test_stopwords_are_neither_required_nor_highlighted(corpus: Engine) -> None:
    found = search(corpus, "how do I make segmentation work with less labels", 20)
    assert found.results
    marked = " ".join(r.snippet.html + r.snippet.title_html for r in found.results)
    for word in ("how", "do", "make", "with", "is"):
        assert f"<mark>{word}</mark>" not in marked.lower(), word
    assert "<mark>segmentation</mark>" in marked.lower()
