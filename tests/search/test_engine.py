"""search(): the pipeline behind the CLI, the site and the API, on both backends."""

import json
import re
import threading
from datetime import date
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Connection, Engine, text

from paperfeed.search import coverage, vectors
from paperfeed.search.engine import EngineConfig
from paperfeed.search.indexer import DenseRetriever, embed_papers, update_index
from paperfeed.search.lexical import LexicalParams
from paperfeed.search.service import SearchResults, search
from paperfeed.search.types import Hit
from paperfeed.search.vectors import HnswIndex
from paperfeed.store.engine import is_sqlite
from tests.search.conftest import CODE_EVERY, by_id
from tests.search.dense_helpers import (
    CachedEmbedder,
    real_papers,
    store_papers,
    use_hnsw_file_from,
)

ECLARE = "2503.11787"
SPRINT = "2503.11932"


def _ids(results: SearchResults) -> list[str]:
    return [r.id for r in results.results]


def _text(paper: dict[str, Any]) -> str:
    return (paper["title"] + " " + paper["abstract"]).lower()


def test_keywords(corpus: Engine) -> None:
    results = search(corpus, "script-agnostic table structure recognition")
    assert _ids(results)[0] == SPRINT
    assert results.mode == "lexical"


def test_exact_title_is_pinned_first(corpus: Engine, papers: list[dict[str, Any]]) -> None:
    # A title of common words, where bm25 alone would not put it first.
    paper = next(p for p in papers if len(p["title"].split()) >= 6)
    results = search(corpus, paper["title"].lower())
    assert results.results[0].id == paper["id"]
    assert results.results[0].stages["pinned"] == "title"


@pytest.mark.parametrize(
    "query",
    [
        SPRINT,
        f"arXiv:{SPRINT}v2",
        f"https://arxiv.org/abs/{SPRINT}",
        f"{SPRINT} tables",
        f"{SPRINT} year:2024",  # named by id: shown even though a filter excludes it
    ],
)
def test_arxiv_id_goes_to_the_paper(corpus: Engine, query: str) -> None:
    results = search(corpus, query)
    assert results.results[0].id == SPRINT
    assert results.results[0].stages["pinned"] == "arxiv_id"


def test_author_name_as_plain_text(corpus: Engine) -> None:
    for query in ("Samuel W. Remedios", "shuwen wei"):
        results = search(corpus, query)
        assert ECLARE in _ids(results)[:5], query


def test_phrase(corpus: Engine, papers: list[dict[str, Any]]) -> None:
    results = search(corpus, '"gaussian splatting"')
    assert results.results
    for paper_id in _ids(results):
        assert re.search(r"gaussian\W+splat", _text(by_id(papers, paper_id)))


def test_exclusion(corpus: Engine, papers: list[dict[str, Any]]) -> None:
    assert any("avatar" in _text(by_id(papers, i)) for i in _ids(search(corpus, "gaussian avatar")))
    results = search(corpus, "gaussian splatting -avatar", limit=50)
    assert results.results
    assert all("avatar" not in _text(by_id(papers, i)) for i in _ids(results))


def test_author_field(corpus: Engine, papers: list[dict[str, Any]]) -> None:
    results = search(corpus, "author:remedios")
    assert ECLARE in _ids(results)
    for paper_id in _ids(results):
        assert any("remedios" in a.lower() for a in by_id(papers, paper_id)["authors"])


def test_category_field(corpus: Engine) -> None:
    results = search(corpus, "cat:eess.iv resolution", limit=30)
    assert results.results
    assert all("eess.IV" in r.categories for r in results.results)
    assert all(
        any(c.startswith("eess.") for c in r.categories) for r in search(corpus, "cat:eess").results
    )


def test_title_field(corpus: Engine) -> None:
    results = search(corpus, "title:gaussian", limit=30)
    assert results.results
    assert all("gaussian" in r.title.lower() for r in results.results)


def test_year_and_date_fields(corpus: Engine, papers: list[dict[str, Any]]) -> None:
    assert search(corpus, "year:2024 resolution").results == []
    assert search(corpus, "year:2025 resolution").results
    day = papers[0]["listed"]
    results = search(corpus, f"date:{day}..{day} learning", limit=50)
    assert results.results
    assert all(r.published == date.fromisoformat(day) for r in results.results)


def test_has_code(corpus: Engine, papers: list[dict[str, Any]]) -> None:
    with_code = {p["id"] for i, p in enumerate(papers) if i % CODE_EVERY == 0}
    results = search(corpus, "has:code learning", limit=50)
    assert results.results
    assert set(_ids(results)) <= with_code


def test_filters_only_browse_newest_first(corpus: Engine) -> None:
    results = search(corpus, "cat:eess.IV", limit=20)
    assert len(results.results) == 20
    assert results.retrievers == ["browse"]
    days = [r.published or date.min for r in results.results]
    assert days == sorted(days, reverse=True)


def test_misspelling_still_finds_the_paper(corpus: Engine) -> None:
    assert ECLARE in _ids(search(corpus, "anisotropik resolution enhancment"))[:5]


@pytest.mark.parametrize(
    "query", ['"unbalanced', "title:", "author:", ":::", 'cat:"', "-", "year:20x5", "((", "*", ""]
)
def test_bad_syntax_never_errors(corpus: Engine, query: str) -> None:
    search(corpus, query)


def test_common_word_alone_is_bounded(corpus: Engine) -> None:
    config = EngineConfig(lexical=LexicalParams(max_term_df=200, candidate_cap=30))
    results = search(corpus, "data", limit=10, config=config)
    assert len(results.results) == 10
    assert results.lexical["capped"] and results.lexical["scored"] <= 30


def test_sort_by_date(corpus: Engine) -> None:
    results = search(corpus, "segmentation", sort="date", limit=30)
    days = [r.published or date.min for r in results.results]
    assert days == sorted(days, reverse=True)


def test_pagination(corpus: Engine) -> None:
    first = _ids(search(corpus, "segmentation", limit=10))
    second = _ids(search(corpus, "segmentation", limit=10, offset=10))
    assert len(second) == 10 and not set(first) & set(second)


def test_results_are_json_with_stage_scores_and_snippets(corpus: Engine) -> None:
    results = search(corpus, "anisotropic resolution")
    data = json.loads(json.dumps(results.as_dict()))
    top = data["results"][0]
    assert {"id", "title", "authors", "published", "categories", "score"} <= set(top)
    assert top["stages"]["lexical"]["rank"] >= 1 and top["stages"]["fused"]["rank"] == 1
    assert "<mark>" in top["snippet"]["html"] and "**" in top["snippet"]["text"]


class _FakeDense:
    """A dense retriever double: always proposes one fixed paper."""

    def __init__(self, paper_id: str) -> None:
        self.paper_id = paper_id

    def search(self, conn: Connection, query_text: str, k: int) -> list[Hit]:
        pk = conn.execute(text("SELECT pk FROM papers WHERE id = :i"), {"i": self.paper_id})
        return [Hit(int(pk.scalar_one()), 0.9)]


class _SplitDense(_FakeDense):
    """A double that can embed apart from searching, as the real DenseRetriever can."""

    def __init__(self, paper_id: str) -> None:
        super().__init__(paper_id)
        self.embedded_on: list[str] = []
        self.searched: list[Any] = []

    def embed(self, query_text: str) -> Any:
        self.embedded_on.append(threading.current_thread().name)
        return np.full((1, 4), len(query_text), dtype=np.float32)

    def search_vector(self, conn: Connection, vector: Any, k: int) -> list[Hit]:
        self.searched.append(vector)
        return self.search(conn, "", k)


def test_while_few_papers_have_vectors_they_do_not_outrank_the_words(engine: Engine) -> None:
    vectors.forget_indexes()
    rows = real_papers()
    store_papers(engine, rows)
    embedder = CachedEmbedder()
    with engine.connect() as conn:
        first = conn.execute(text("SELECT pk FROM papers WHERE id = :i"), {"i": rows[0]["id"]})
        first_pk = int(first.scalar_one())
    embed_papers(engine, embedder, [first_pk])  # one paper of 105 has its vector
    retriever = DenseRetriever(embedder)
    query = "color matching hypernetwork kolmogorov"  # the words of another paper's title
    lexical = search(engine, query, limit=5)
    hybrid = search(engine, query, retriever=retriever, limit=5)
    assert _ids(hybrid)[0] == _ids(lexical)[0] == str(rows[4]["id"])
    # Once every paper has its vector, fusion weighs both sides as tuned.
    update_index(engine, embedder)
    with engine.connect() as conn:
        assert coverage.embedded_share(conn, embedder.name) == 1.0
    assert search(engine, query, retriever=retriever, limit=5).results[0].stages["dense"]


class _Recording(_FakeDense):
    """A double that remembers which texts it searched for."""

    def __init__(self, paper_id: str) -> None:
        super().__init__(paper_id)
        self.texts: list[str] = []

    def search(self, conn: Connection, query_text: str, k: int) -> list[Hit]:
        self.texts.append(query_text)
        return super().search(conn, query_text, k)


def test_a_misspelt_query_is_spelled_as_the_papers_spell_it(corpus: Engine) -> None:
    dense = _Recording(SPRINT)
    results = search(corpus, "gausian splatting", retriever=dense, limit=5)
    assert results.lexical["corrected"]  # the planner's correction: an indexed stem
    assert results.corrected == "gaussian splatting"  # the word the papers use
    assert dense.texts[-1] == "gaussian splatting", "the semantic side searched it too"
    top = next(r for r in results.results if "lexical" in r.stages)  # not the double's paper
    assert "gaussian" in top.title.lower() and "<mark>" in top.snippet.title_html
    assert search(corpus, "gaussian splatting").corrected is None


def test_a_split_retriever_embeds_the_query_beside_the_lexical_stage(corpus: Engine) -> None:
    dense = _SplitDense(SPRINT)
    results = search(corpus, "anisotropic resolution", retriever=dense, limit=50)
    assert dense.embedded_on and dense.embedded_on[0] != threading.current_thread().name
    assert float(dense.searched[0][0, 0]) == len("anisotropic resolution")
    assert {r.id: r for r in results.results}[SPRINT].stages["dense"]["rank"] == 1


def test_an_embedding_error_reaches_the_caller(corpus: Engine) -> None:
    dense = _SplitDense(SPRINT)
    dense.embed = lambda text: 1 / 0  # type: ignore[method-assign]
    with pytest.raises(ZeroDivisionError):
        search(corpus, "anisotropic resolution", retriever=dense)


def test_a_dense_retriever_plugs_in(corpus: Engine) -> None:
    results = search(corpus, "anisotropic resolution", retriever=_FakeDense(SPRINT), limit=50)
    assert results.mode == "hybrid"
    found = {r.id: r for r in results.results}
    assert found[SPRINT].stages["dense"] == {"score": 0.9, "rank": 1}
    assert "lexical" in found[ECLARE].stages


@pytest.mark.parametrize("query", ['"gaussian splatting"', "title:gaussian", '"no such phrase"'])
def test_phrases_and_title_words_bind_semantic_hits_too(
    corpus: Engine, papers: list[dict[str, Any]], query: str
) -> None:
    lexical = search(corpus, query, limit=50)
    # The double's one hit (SPRINT, about table recognition) has neither.
    results = search(corpus, query, retriever=_FakeDense(SPRINT), limit=50)
    assert results.mode == "hybrid" and SPRINT not in _ids(results)
    assert set(_ids(results)) == set(_ids(lexical))
    if "gaussian" in query:
        for paper in (by_id(papers, i) for i in _ids(results)):
            assert "gaussian" in (paper["title"].lower() if "title:" in query else _text(paper))
    # Without quotes the same words let meaning bring it in (below the best lexical matches:
    # dense weighs 0.4 in fusion, so it need not reach the first pages).
    unquoted = search(corpus, "gaussian splatting", retriever=_FakeDense(SPRINT), limit=100)
    assert SPRINT in _ids(unquoted)


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(st.text(alphabet=st.sampled_from("ab2401.5\" -:*()ORyeatuhcd'\\/"), max_size=40) | st.text())
def test_any_query_searches_without_error(corpus: Engine, raw: str) -> None:
    search(corpus, raw, limit=3)


def test_the_real_dense_side_searches_its_hnsw_file_beside_the_lexical_stage(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    if not is_sqlite(engine):
        pytest.skip("the HNSW file is the SQLite backend's index")
    use_hnsw_file_from(monkeypatch)
    vectors.forget_indexes()
    rows = real_papers()
    store_papers(engine, rows)
    update_index(engine, CachedEmbedder())
    searched_on: list[str] = []
    look_ahead = HnswIndex.look_ahead

    def recorded(index: HnswIndex, vector: Any, k: int) -> Any:
        searched_on.append(threading.current_thread().name)
        return look_ahead(index, vector, k)

    monkeypatch.setattr(HnswIndex, "look_ahead", recorded)
    retriever = DenseRetriever(CachedEmbedder())
    for row in rows[:5]:
        query = str(row["abstract"])[:80]
        ahead = search(engine, query, retriever=retriever, limit=20)
        plain = search(engine, query, retriever=_Plain(retriever), limit=20)
        assert [(r.id, r.stages) for r in ahead.results] == [
            (r.id, r.stages) for r in plain.results
        ]
    assert searched_on and searched_on[0] != threading.current_thread().name
    vectors.forget_indexes()


class _Plain:
    """A retriever seen through ``search`` alone: nothing runs ahead."""

    def __init__(self, inner: DenseRetriever) -> None:
        self.inner = inner
        self.embedder = inner.embedder  # the same model: the same dense floor

    def search(self, conn: Connection, query_text: str, k: int) -> list[Hit]:
        return self.inner.search(conn, query_text, k)
