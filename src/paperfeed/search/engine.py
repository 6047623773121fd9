"""The search pipeline: parse -> pin (arXiv id, exact title) -> retrieve -> fuse -> filter.

Retrievers are ranked lists of paper keys: lexical always; dense when a retriever is plugged
in (anything with ``search(conn, query_text, k) -> list[Hit]``); "author" when the query reads
like an author's name. A query of filters only has no ranking: search.matches lists it.

The dense side's work that needs no database connection runs on a worker thread while the
lexical stage runs in SQLite: ONNX Runtime, usearch and SQLite all release the GIL, so on two
cores it costs no wall time. A retriever that can ``look_ahead(conn, text, k)`` hands over that
work (the real one: embed the query and search the HNSW file) and finishes with
``search_ahead(conn, ahead, k)``; one that can ``embed(text)`` and ``search_vector(conn,
vector, k)`` has only its query embedded ahead.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from typing import Any, Literal, Protocol, TypeGuard

from sqlalchemy import Connection

from paperfeed.ingest.ids import title_key
from paperfeed.search.dense_floor import dense_floor
from paperfeed.search.embed import cpu_threads
from paperfeed.search.filters import allowed_pks, sql_text
from paperfeed.search.fusion import Fused, FusionParams, fuse
from paperfeed.search.lexical import (
    LexicalParams,
    LexicalResult,
    exclusion_condition,
    lexical_search,
)
from paperfeed.search.query import ParsedQuery, parse_query, words
from paperfeed.search.spelling import corrected_text
from paperfeed.search.types import Hit, Vectors

Sort = Literal["relevance", "date", "upvotes"]
SORTS: tuple[Sort, ...] = ("relevance", "date", "upvotes")


class DenseRetriever(Protocol):
    """What the dense side provides: the nearest papers to a query text."""

    def search(self, conn: Connection, query_text: str, k: int) -> list[Hit]: ...


class SplitRetriever(DenseRetriever, Protocol):
    """A dense retriever whose query embedding can run apart from its index search."""

    def embed(self, query_text: str) -> Vectors: ...

    def search_vector(self, conn: Connection, vector: Vectors, k: int) -> list[Hit]: ...


class LookAheadRetriever(DenseRetriever, Protocol):
    """A dense retriever whose connection-free work can run beside the lexical stage."""

    def look_ahead(self, conn: Connection, query_text: str, k: int) -> Callable[[], object]: ...

    def search_ahead(self, conn: Connection, ahead: object, k: int) -> list[Hit]: ...


# Query embeddings for every search in the process: one worker per core, so concurrent searches
# (the web server's threads) do not queue behind one another's embedding.
_embedding_worker = ThreadPoolExecutor(cpu_threads(), thread_name_prefix="query-embedding")


@dataclass(frozen=True, slots=True)
class EngineConfig:
    """Search settings: fusion and lexical parameters and how deep each retriever goes."""

    fusion: FusionParams = field(default_factory=FusionParams)
    lexical: LexicalParams = field(default_factory=LexicalParams)
    depth: int = 100  # candidates taken from each retriever before fusion
    dense_floor: float | None = None  # None: the model's calibrated floor (search.dense_floor)
    # Totals are exact up to this many matches, estimated above (search.matches); None: exact.
    exact_total_upto: int | None = None


@dataclass(slots=True)
class Candidates:
    """Ranked candidates after fusion and filters, pinned papers first."""

    parsed: ParsedQuery
    order: list[int]
    fused: dict[int, Fused]
    pinned: dict[int, str]  # pk -> why ("arxiv_id" or "title")
    lexical: LexicalResult
    retrievers: list[str]
    corrected: str | None = None  # the query's text with misspelt words corrected


def candidates(
    conn: Connection,
    query: str,
    depth: int,
    retriever: DenseRetriever | None = None,
    config: EngineConfig | None = None,
) -> Candidates:
    """Every candidate for ``query``, best first (up to about ``depth`` of them)."""
    config = config or EngineConfig()
    parsed = parse_query(query)
    pinned = _pinned(conn, parsed)
    lexical = LexicalResult([])
    ranked: dict[str, list[Hit]] = {}
    corrected = None
    if parsed.has_text:
        ahead = _start_dense(conn, retriever, parsed.text, depth)
        lexical = lexical_search(conn, parsed, depth, config.lexical)
        ranked["lexical"] = lexical.hits
        hits = [hit.pk for hit in lexical.hits]
        misspelt = {w: fixed for w, fixed in lexical.corrected.items() if w in lexical.unknown}
        corrected = corrected_text(conn, parsed.text, misspelt, hits)
        if retriever is not None:
            # A misspelt word is noise to the model: search the corrected words instead (the
            # look-ahead for the text as typed finishes on its own and is not waited for).
            dense = (
                retriever.search(conn, corrected, depth)
                if corrected is not None
                else _dense(conn, retriever, ahead, parsed.text, depth)
            )
            ranked["dense"] = _within_lexical(dense, lexical) if _requires_words(parsed) else dense
        by_author = _by_author(conn, parsed, depth) if _looks_like_name(parsed) else []
        if by_author:
            ranked["author"] = by_author
    fusion = _weighed_by_coverage(conn, retriever, config.fusion) if "dense" in ranked else None
    fused = {f.pk: f for f in fuse(ranked, fusion or config.fusion)}
    if retriever is not None:
        fused = _above_floor(fused, retriever, config)
    order = _filtered(conn, parsed, list(pinned) + list(fused), pinned)
    # A query of filters only is browsed in SQL, newest first (search.matches).
    names = list(ranked) if parsed.has_text or not parsed.has_filters else ["browse"]
    return Candidates(parsed, order, fused, pinned, lexical, names, corrected)


def _weighed_by_coverage(
    conn: Connection, retriever: DenseRetriever | None, params: FusionParams
) -> FusionParams:
    """The dense weight times the share of papers with a vector (``search.coverage``)."""
    coverage = getattr(retriever, "coverage", None)
    share = coverage(conn) if callable(coverage) else 1.0
    if share >= 1.0:
        return params
    return replace(params, weights={**params.weights, "dense": params.weight("dense") * share})


def _above_floor(
    fused: dict[int, Fused], retriever: DenseRetriever, config: EngineConfig
) -> dict[int, Fused]:
    """The fused candidates less those only the dense side found, below the model's floor:
    the k nearest papers of a nonsense query are not results. Applied after fusion, so the
    ranking of what stays is the one fusion was tuned for."""
    floor = config.dense_floor
    if floor is None:
        floor = dense_floor(getattr(getattr(retriever, "embedder", None), "name", None))
    return {
        pk: f
        for pk, f in fused.items()
        if set(f.stages) != {"dense"} or f.stages["dense"].score >= floor
    }


def _requires_words(parsed: ParsedQuery) -> bool:
    """A quoted phrase or ``title:`` words must be in a paper: the lexical stage finds papers
    that have them, and meaning alone cannot tell which do."""
    return bool(parsed.phrases or parsed.title)


def _within_lexical(dense: list[Hit], lexical: LexicalResult) -> list[Hit]:
    """The dense hits among the lexical ones: the semantic side then only re-ranks them."""
    found = {hit.pk for hit in lexical.hits}
    return [hit for hit in dense if hit.pk in found]


def _start_dense(
    conn: Connection, retriever: DenseRetriever | None, text: str, depth: int
) -> Future[object] | None:
    if _looks_ahead(retriever):
        return _embedding_worker.submit(retriever.look_ahead(conn, text, depth))
    if _is_split(retriever):
        return _embedding_worker.submit(retriever.embed, text)
    return None


def _dense(
    conn: Connection,
    retriever: DenseRetriever,
    ahead: Future[object] | None,
    text: str,
    depth: int,
) -> list[Hit]:
    if ahead is None:
        return retriever.search(conn, text, depth)
    if _looks_ahead(retriever):
        return retriever.search_ahead(conn, ahead.result(), depth)
    assert _is_split(retriever)
    return retriever.search_vector(conn, ahead.result(), depth)  # type: ignore[arg-type]


def _looks_ahead(retriever: DenseRetriever | None) -> TypeGuard[LookAheadRetriever]:
    return callable(getattr(retriever, "look_ahead", None)) and callable(
        getattr(retriever, "search_ahead", None)
    )


def _is_split(retriever: DenseRetriever | None) -> TypeGuard[SplitRetriever]:
    return callable(getattr(retriever, "embed", None)) and callable(
        getattr(retriever, "search_vector", None)
    )


def _filtered(
    conn: Connection, parsed: ParsedQuery, pks: list[int], pinned: dict[int, str]
) -> list[int]:
    """Drop duplicates, and candidates that fail the filters (dense and author candidates
    were never filtered). A paper named by its arXiv id or DOI stays: the user asked for it."""
    pks = list(dict.fromkeys(pks))
    if not parsed.has_filters or not pks:
        return pks
    allowed = allowed_pks(conn, parsed, pks, exclusion_condition(conn, parsed))
    return [pk for pk in pks if pk in allowed or pinned.get(pk) in ("arxiv_id", "doi")]


def _pinned(conn: Connection, parsed: ParsedQuery) -> dict[int, str]:
    """Papers named by arXiv id, then the paper whose title is exactly the query."""
    pinned: dict[int, str] = {}
    if parsed.arxiv_ids:
        marks = ", ".join(f":id{i}" for i in range(len(parsed.arxiv_ids)))
        params = {f"id{i}": v for i, v in enumerate(parsed.arxiv_ids)}
        rows = conn.execute(sql_text(f"SELECT pk FROM papers WHERE id IN ({marks})"), params)
        pinned |= {int(pk): "arxiv_id" for pk in rows.scalars()}
    if parsed.dois:
        pinned |= {pk: "doi" for pk in _by_doi(conn, parsed.dois) if pk not in pinned}
    key = title_key(" ".join((*parsed.phrases, *parsed.terms)))
    if key and len(key.split()) >= 2 and not parsed.title:
        # The indexed normalised title makes an exact-title query one lookup.
        rows = conn.execute(
            sql_text("SELECT pk FROM papers WHERE title_key = :k ORDER BY pk LIMIT 5"), {"k": key}
        )
        for pk in rows.scalars():
            pinned.setdefault(int(pk), "title")
    return pinned


def _by_doi(conn: Connection, dois: tuple[str, ...]) -> list[int]:
    """Papers storing one of ``dois``, in any case (DOIs are case-insensitive; the index is
    on the lower case, ``ix_papers_doi``)."""
    lowered = sorted({doi.lower() for doi in dois})
    marks = ", ".join(f":doi{i}" for i in range(len(lowered)))
    params = {f"doi{i}": v for i, v in enumerate(lowered)}
    sql = f"SELECT pk FROM papers WHERE lower(doi) IN ({marks}) ORDER BY pk"
    return [int(pk) for pk in conn.execute(sql_text(sql), params).scalars()]


def _looks_like_name(parsed: ParsedQuery) -> bool:
    found = words(parsed.raw)
    return 2 <= len(found) <= 4 and not parsed.phrases and all(w.isalpha() for w in found)


def _by_author(conn: Connection, parsed: ParsedQuery, depth: int) -> list[Hit]:
    """Papers by an author whose name is the query, newest first.

    Exact names through the author-name index (as typed, and Title Cased), so this costs one
    index probe per spelling instead of a scan of every author.
    """
    # Printable characters only: PostgreSQL refuses NUL in text parameters.
    name = " ".join("".join(c for c in parsed.raw if c.isprintable()).split())
    spellings = list(dict.fromkeys((name, name.title())))
    marks = ", ".join(f":n{i}" for i in range(len(spellings)))
    sql = (
        f"SELECT DISTINCT paper_pk FROM paper_authors WHERE name IN ({marks})"
        " ORDER BY paper_pk DESC LIMIT :k"
    )
    params: dict[str, Any] = {f"n{i}": s for i, s in enumerate(spellings)} | {"k": depth}
    rows = conn.execute(sql_text(sql), params).scalars().all()
    return [Hit(int(pk), 1.0 / (rank + 1)) for rank, pk in enumerate(rows)]
