"""The recent papers "for you" ranks: their vectors, kept in memory and refreshed on change.

A recommendation request scores every recent paper with each of a user's tag classifiers,
which is one (papers × dim) · (dim × tags) product when the vectors are already in memory.
The pool holds the papers of the last ``window_days`` days (by listing day, else publication
day, anchored at the newest day in the store so an old corpus still has a "recent") that have
an embedding of the current model. It is reloaded only when papers or vectors change: a check
costs two indexed lookups.
"""

from __future__ import annotations

import functools
import re
import threading
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, timedelta

import numpy as np
import numpy.typing as npt
from sqlalchemy import Connection, func, select

from paperfeed.store import embeddings as store
from paperfeed.store import paper_reads
from paperfeed.store.embeddings_schema import paper_embeddings
from paperfeed.store.schema import papers

_DAY = paper_reads.DAY
_TERM = re.compile(r"(?<![a-z0-9])[a-z][a-z0-9-]{2,}")
# Words too common in abstracts to explain anything.
_STOPWORD_TEXT = """
    the and for with that this from are our can which these has have was were been its into
    using use used based show shows results paper propose proposed approach method methods new
    model models data also such than their they both more most while when where how what via
    two one over under between not but all any each other only well may however first
    across without within further large small high low task tasks work existing different"""
STOPWORDS = frozenset(_STOPWORD_TEXT.split())


def terms_of(text: str) -> list[str]:
    """Lower-cased content words of ``text`` (no stopwords), as explanations show them."""
    return [t for t in _TERM.findall(text.lower()) if t not in STOPWORDS]


@dataclass
class Pool:
    """Recent papers: keys, unit vectors, primary categories and (lazily) their terms."""

    key: tuple[int, int]
    pks: npt.NDArray[np.int64]
    vectors: npt.NDArray[np.float32]
    categories: list[str]
    texts: dict[int, tuple[str, str]] = field(default_factory=dict)
    _df: Counter[str] | None = None
    _terms: dict[int, frozenset[str]] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def __len__(self) -> int:
        return len(self.pks)

    @functools.cached_property
    def row_of(self) -> dict[int, int]:
        """Pool row of each paper pk."""
        return {pk: row for row, pk in enumerate(self.pks.tolist())}

    @functools.cached_property
    def category_array(self) -> npt.NDArray[np.str_]:
        return np.asarray(self.categories)

    def terms(self, pk: int) -> frozenset[str]:
        """The content words of pool paper ``pk`` (title and abstract), computed once."""
        found = self._terms.get(pk)
        if found is None:
            title, abstract = self.texts[pk]
            found = self._terms[pk] = frozenset(terms_of(f"{title} {abstract}"))
        return found

    def document_frequency(self) -> Counter[str]:
        """How many pool papers use each term: the idf that weighs explanation terms."""
        with self._lock:
            if self._df is None:
                df: Counter[str] = Counter()
                for pk in self.texts:
                    df.update(self.terms(pk))
                self._df = df
            return self._df


class PoolCache:
    """One pool per (model, window), shared by every request of this process."""

    def __init__(self) -> None:
        self._pools: dict[tuple[str, int], Pool] = {}
        self._lock = threading.Lock()

    def get(self, conn: Connection, model: str, window_days: int) -> Pool:
        key = _change_key(conn, model)
        cached = self._pools.get((model, window_days))
        if cached is not None and cached.key == key:
            return cached
        with self._lock:
            cached = self._pools.get((model, window_days))
            if cached is None or cached.key != key:
                cached = load_pool(conn, model, window_days, key)
                self._pools[(model, window_days)] = cached
            return cached


def _change_key(conn: Connection, model: str) -> tuple[int, int]:
    """Changes whenever a paper is added or a vector of ``model`` is written. (Papers hidden
    later are dropped when results are read, so hiding one needs no reload.)"""
    state = store.model_state(conn, model)
    newest = conn.execute(select(func.max(papers.c.pk))).scalar() or 0
    return (state.version if state else 0, int(newest))


def newest_day(conn: Connection) -> date | None:
    featured = conn.execute(select(func.max(papers.c.featured_day))).scalar()
    published = conn.execute(select(func.max(papers.c.published))).scalar()
    days = [day for day in (featured, published) if day is not None]
    return max(days) if days else None


def load_pool(conn: Connection, model: str, window_days: int, key: tuple[int, int]) -> Pool:
    state = store.model_state(conn, model)
    anchor = newest_day(conn)
    if state is None or anchor is None:
        return Pool(key, np.zeros(0, np.int64), np.zeros((0, 1), np.float32), [])
    since = anchor - timedelta(days=window_days - 1)
    query = (
        select(
            papers.c.pk,
            papers.c.title,
            papers.c.abstract,
            papers.c.primary_category,
            paper_embeddings.c.vector,
        )
        .join(paper_embeddings, paper_embeddings.c.paper_pk == papers.c.pk)
        .where(paper_embeddings.c.model == model, paper_reads.VISIBLE, since <= _DAY)
        .order_by(papers.c.pk)
    )
    rows = conn.execute(query).all()
    vectors = store.vectors_from_db(conn, [row.vector for row in rows], state.dim)
    return Pool(
        key=key,
        pks=np.asarray([row.pk for row in rows], dtype=np.int64),
        vectors=np.ascontiguousarray(vectors, dtype=np.float32),
        categories=[row.primary_category or "" for row in rows],
        texts={row.pk: (row.title, row.abstract) for row in rows},
    )
