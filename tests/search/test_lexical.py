"""Lexical retrieval on real papers, on SQLite and PostgreSQL."""

from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine

from paperfeed.search.lexical import DocumentCounts, LexicalParams, lexical_search
from paperfeed.search.lexical_sql import Clause
from paperfeed.search.query import parse_query

ECLARE = "2503.11787"  # "ECLARE: Efficient cross-planar learning for anisotropic resolution ..."


def _ids(corpus: Engine, query: str, k: int = 10, **params: Any) -> tuple[list[str], Any]:
    with corpus.connect() as conn:
        result = lexical_search(conn, parse_query(query), k, LexicalParams(**params))
        pks = [h.pk for h in result.hits]
        rows: dict[int, str] = dict(
            conn.exec_driver_sql(
                f"SELECT pk, id FROM papers WHERE pk IN ({','.join(map(str, pks or [0]))})"
            ).all()
        )
    return [rows[pk] for pk in pks], result


def test_keywords_rank_the_paper_first(corpus: Engine) -> None:
    ids, result = _ids(corpus, "anisotropic cross-planar resolution")
    assert ids[0] == ECLARE
    assert not result.capped


def test_or_semantics_still_answers_when_one_word_is_absent(corpus: Engine) -> None:
    ids, _ = _ids(corpus, "anisotropic cross-planar zzyzxqwv")
    assert ECLARE in ids[:3]


def test_misspelt_word_still_finds_the_paper(corpus: Engine) -> None:
    ids, result = _ids(corpus, "anisotropik cross-planar")
    assert ECLARE in ids[:3]
    assert "anisotropik" in result.corrected


def test_common_word_alone_is_capped(corpus: Engine) -> None:
    # "model" is in 1,653 of the 2,000 papers: above this threshold, so no bm25 over all.
    ids, result = _ids(corpus, "model", k=10, max_term_df=200, candidate_cap=40)
    assert result.capped
    assert result.scored is not None and 0 < result.scored <= 40
    assert result.dropped == ("model",)
    assert len(ids) == 10


def test_common_word_is_dropped_beside_a_rare_one(corpus: Engine) -> None:
    ids, result = _ids(corpus, "model anisotropic", max_term_df=200)
    assert result.dropped == ("model",)
    assert not result.capped
    assert ECLARE in ids[:5]


def test_posting_budget_keeps_the_rarest_words(corpus: Engine) -> None:
    _, result = _ids(corpus, "anisotropic learning", posting_budget=100)
    assert result.dropped == ("learning",)


def test_default_params_score_everything_on_a_small_corpus(corpus: Engine) -> None:
    _, result = _ids(corpus, "model")
    assert not result.capped and result.dropped == ()


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(st.text(alphabet=st.sampled_from("ab\" -:*^()NEAR.OR{}+'\\AND"), max_size=30) | st.text())
def test_no_input_is_a_syntax_error(corpus: Engine, raw: str) -> None:
    with corpus.connect() as conn:
        lexical_search(conn, parse_query(raw), 5)


class _CountingBackend:
    """Counts documents from a table, and records what it was asked."""

    def __init__(self, df: dict[str, int]) -> None:
        self.df = df
        self.asked: list[str] = []

    def count(self, conn: Any, clause: Clause, limit: int) -> int:
        self.asked.append(clause.words[0])
        return min(self.df[clause.words[0]], limit)


def test_a_common_word_is_counted_once_while_papers_are_only_added(
    corpus: Engine, monkeypatch: Any
) -> None:
    DocumentCounts.forget()
    backend = _CountingBackend({"model": 10_000, "rare": 3})
    model, rare = Clause(("model",)), Clause(("rare",))
    with corpus.connect() as conn:
        for _ in range(2):  # two queries
            counts = DocumentCounts(conn, backend, 5000)  # type: ignore[arg-type]
            assert counts.is_common(model) and not counts.is_common(rare)
        assert backend.asked == ["model", "rare", "rare"]
        # Fewer papers than when the verdict was made (a reset, deletions): count again.
        monkeypatch.setattr(DocumentCounts, "newest", lambda self: 1)
        assert DocumentCounts(conn, backend, 5000).is_common(model)  # type: ignore[arg-type]
        assert backend.asked[-1] == "model"
