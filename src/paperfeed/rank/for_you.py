""" "For you": recent papers ranked for one user, per tag and merged, each with its reason.

A user's tags are their library's tags (untagged saved papers form the tag ``saved``), plus one
``cat:<category>`` tag per category picked at cold start. Each tag has a linear classifier over
paper embeddings (``tag_classifier``), cached in ``tag_models`` and retrained only when the
tag's papers or the user's 👍/👎 feedback change. A request then scores the recent-paper pool
(``candidate_pool``) with every tag's classifier at once; the merged list takes, for each
paper, its best tag after putting the tags' scores on one scale (z-scores over the pool).

Every recommendation says why: the paper of that tag it is closest to, and the words it
shares with the tag's papers that weigh most (frequent in the tag, rare in the pool).
"""

from __future__ import annotations

import functools
import math
import threading
from collections import Counter, OrderedDict, defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import numpy as np
import numpy.typing as npt
from sqlalchemy import Connection, Engine, select
from threadpoolctl import ThreadpoolController

from paperfeed.config import Settings, get_settings
from paperfeed.rank import tag_classifier
from paperfeed.rank.candidate_pool import Pool, PoolCache, terms_of
from paperfeed.rank.tag_classifier import TagModel
from paperfeed.store import embeddings as store
from paperfeed.store import paper_reads
from paperfeed.store.community_schema import library_items, library_tags
from paperfeed.store.engine import write_transaction
from paperfeed.store.recommend_schema import recommendation_feedback, tag_models, user_categories
from paperfeed.store.schema import paper_authors, papers

SAVED_TAG = "saved"
CATEGORY_PREFIX = "cat:"
# A category tag learns from up to this many of the pool's papers in that category.
CATEGORY_EXAMPLES = 200
EXPLAIN_TERMS = 3

POOLS = PoolCache()
_models: dict[tuple[int, str, str], TagModel] = {}
_models_lock = threading.Lock()


@dataclass(frozen=True, slots=True)
class Reason:
    tag: str
    nearest_id: str | None
    nearest_title: str | None
    similarity: float
    terms: list[str]

    def as_text(self) -> str:
        parts = []
        if self.nearest_title:
            parts.append(f"close to “{self.nearest_title}” in tag {self.tag}")
        else:
            parts.append(f"matches tag {self.tag}")
        if self.terms:
            parts.append("shares " + ", ".join(self.terms))
        return "; ".join(parts)


@dataclass(frozen=True, slots=True)
class Recommendation:
    paper_id: str
    title: str
    authors: list[str]
    abstract: str
    score: float
    tag: str
    reason: Reason

    def as_json(self) -> dict[str, Any]:
        reason = self.reason
        return {
            "id": self.paper_id,
            "title": self.title,
            "authors": self.authors,
            "score": round(self.score, 4),
            "tag": self.tag,
            "why": {
                "text": reason.as_text(),
                "tag": reason.tag,
                "nearest": (
                    {"id": reason.nearest_id, "title": reason.nearest_title}
                    if reason.nearest_id
                    else None
                ),
                "similarity": round(reason.similarity, 4),
                "terms": reason.terms,
            },
        }


@dataclass
class ForYou:
    """One view of a user's recommendations: all tags merged (``tag`` None) or one tag."""

    papers: list[Recommendation] = field(default_factory=list)
    tag: str | None = None
    tag_sizes: dict[str, int] = field(default_factory=dict)  # every tag -> papers it learns from

    @property
    def cold_start(self) -> bool:
        """True while the user has nothing to learn from (no tag, no category)."""
        return not self.tag_sizes


@dataclass
class Profile:
    """What a user's recommendations learn from."""

    tags: dict[str, list[int]]  # tag -> paper pks (library tags, saved, 👍)
    categories: list[str]
    disliked: list[int]
    seen: set[int]  # in the library or already rated: never recommended again


def load_profile(conn: Connection, user_pk: int) -> Profile:
    tags: dict[str, list[int]] = defaultdict(list)
    tagged: set[int] = set()
    rows = conn.execute(
        select(library_tags.c.tag, library_tags.c.paper_pk).where(library_tags.c.user_pk == user_pk)
    )
    for tag, pk in rows:
        tags[tag].append(pk)
        tagged.add(pk)
    saved = conn.execute(
        select(library_items.c.paper_pk).where(library_items.c.user_pk == user_pk)
    ).scalars()
    seen = set(saved) | tagged
    tags[SAVED_TAG].extend(sorted(pk for pk in seen if pk not in tagged))
    disliked: list[int] = []
    feedback = select(
        recommendation_feedback.c.paper_pk,
        recommendation_feedback.c.tag,
        recommendation_feedback.c.value,
    ).where(recommendation_feedback.c.user_pk == user_pk)
    for pk, tag, value in conn.execute(feedback):
        seen.add(pk)
        if value > 0:
            tags[tag or SAVED_TAG].append(pk)
        else:
            disliked.append(pk)
    categories = list(
        conn.execute(
            select(user_categories.c.category).where(user_categories.c.user_pk == user_pk)
        ).scalars()
    )
    # A paper hidden by moderators neither teaches a tag nor is named as a reason; it stays
    # in ``seen``, so it is not recommended either.
    hidden = _hidden_among(conn, seen)
    tags = {t: [pk for pk in pks if pk not in hidden] for t, pks in tags.items()}
    return Profile({t: pks for t, pks in tags.items() if pks}, categories, disliked, seen)


def _hidden_among(conn: Connection, pks: set[int]) -> set[int]:
    if not pks:
        return set()
    query = select(papers.c.pk).where(papers.c.pk.in_(sorted(pks)), paper_reads.HIDDEN)
    return set(conn.execute(query).scalars())


def recommend(
    engine: Engine,
    user_pk: int,
    *,
    limit: int = 20,
    tag: str | None = None,
    settings: Settings | None = None,
) -> ForYou:
    """Recent papers for ``user_pk``: all tags merged, or only ``tag`` (empty if no such tag)."""
    settings = settings or get_settings()
    model = settings.embedding_model
    with engine.connect() as conn:
        profile = load_profile(conn, user_pk)
        pool = POOLS.get(conn, model, settings.for_you_window_days)
        state = store.model_state(conn, model)
        if state is None or not len(pool) or not (profile.tags or profile.categories):
            return ForYou(tag=tag, tag_sizes={t: len(p) for t, p in profile.tags.items()})
        training = _training_sets(conn, pool, profile, model, state.dim)
        models = _tag_models(engine, conn, profile, user_pk, model, state.version, pool, training)
        result = ForYou(tag=tag, tag_sizes={t: len(training[t].positives) for t in sorted(models)})
        if tag is None or tag in models:
            result.papers = _rank(conn, pool, profile, training, models, limit, tag)
        return result


@dataclass
class TrainingSet:
    positives: dict[int, npt.NDArray[np.float32]]  # paper pk -> vector
    pool_rows: npt.NDArray[np.int64]  # pool rows of the positives (excluded from background)


def _training_sets(
    conn: Connection, pool: Pool, profile: Profile, model: str, dim: int
) -> dict[str, TrainingSet]:
    row_of = pool.row_of
    wanted = sorted({pk for pks in profile.tags.values() for pk in pks if pk not in row_of})
    stored = _stored_vectors(conn, model, dim, pool.key, wanted)
    sets: dict[str, TrainingSet] = {}
    for tag, pks in profile.tags.items():
        vectors = {}
        for pk in pks:
            if pk in row_of:
                vectors[pk] = pool.vectors[row_of[pk]]
            elif pk in stored:
                vectors[pk] = stored[pk]
        if vectors:
            rows = np.asarray([row_of[pk] for pk in vectors if pk in row_of], dtype=np.int64)
            sets[tag] = TrainingSet(vectors, rows)
    categories = pool.category_array
    for category in profile.categories:
        rows = np.flatnonzero(categories == category)[:CATEGORY_EXAMPLES]
        if len(rows):
            vectors = {int(pool.pks[r]): pool.vectors[r] for r in rows}
            sets[CATEGORY_PREFIX + category] = TrainingSet(vectors, rows)
    return sets


# Vectors of library papers outside the pool, by (model, pool key, pk): a library is read on
# every request, its vectors change only when the model's vectors do.
_VECTORS: dict[tuple[str, tuple[int, int], int], npt.NDArray[np.float32]] = {}
_VECTORS_MAX = 200_000


def _stored_vectors(
    conn: Connection, model: str, dim: int, pool_key: tuple[int, int], pks: list[int]
) -> dict[int, npt.NDArray[np.float32]]:
    found = {pk: _VECTORS[(model, pool_key, pk)] for pk in pks if (model, pool_key, pk) in _VECTORS}
    missing = [pk for pk in pks if pk not in found]
    if missing:
        loaded = store.vectors_for(conn, model, dim, missing)
        if len(_VECTORS) + len(loaded) > _VECTORS_MAX:
            _VECTORS.clear()
        _VECTORS.update({(model, pool_key, pk): vector for pk, vector in loaded.items()})
        found.update(loaded)
    return found


def _tag_models(
    engine: Engine,
    conn: Connection,
    profile: Profile,
    user_pk: int,
    model: str,
    version: int,
    pool: Pool,
    training: dict[str, TrainingSet],
) -> dict[str, TagModel]:
    """Each tag's classifier: from memory, else from tag_models, else trained and stored.

    A warm request reads nothing here: the stored rows and the 👎 vectors are loaded only when
    a tag's classifier is missing from memory."""
    disliked = sorted(profile.disliked)
    stored: dict[str, Any] | None = None
    dislike_vectors: npt.NDArray[np.float32] | None = None
    models: dict[str, TagModel] = {}
    fresh: list[tuple[str, TagModel]] = []
    for tag, examples in training.items():
        # Category tags learn from the pool itself, so they are fingerprinted by its version.
        pool_part = list(pool.key) if tag.startswith(CATEGORY_PREFIX) else []
        fp = tag_classifier.fingerprint(version, [*examples.positives, *pool_part], disliked)
        memo = _models.get((user_pk, tag, model))
        if memo is not None and memo.fingerprint == fp:
            models[tag] = memo
            continue
        if stored is None:
            query = select(tag_models).where(
                tag_models.c.user_pk == user_pk, tag_models.c.model == model
            )
            stored = {row.tag: row for row in conn.execute(query)}
        row = stored.get(tag)
        if row is not None and row.fingerprint == fp:
            found = TagModel(np.frombuffer(row.weights, dtype=np.float32), row.bias, fp)
        else:
            if dislike_vectors is None:
                dislike_vectors = _dislike_vectors(conn, pool, model, disliked)
            found = _train(pool, tag, user_pk, examples, dislike_vectors, fp)
            fresh.append((tag, found))
        models[tag] = found
        with _models_lock:
            _models[(user_pk, tag, model)] = found
    if fresh:
        _store_models(engine, user_pk, model, fresh)
    return models


def _dislike_vectors(
    conn: Connection, pool: Pool, model: str, pks: list[int]
) -> npt.NDArray[np.float32]:
    dim = pool.vectors.shape[1]
    found = _stored_vectors(conn, model, dim, pool.key, pks)
    matrix = np.asarray([found[pk] for pk in pks if pk in found], dtype=np.float32)
    return matrix.reshape(-1, dim)


def _train(
    pool: Pool,
    tag: str,
    user_pk: int,
    examples: TrainingSet,
    dislikes: npt.NDArray[np.float32],
    fp: str,
) -> TagModel:
    exclude = np.zeros(len(pool), dtype=bool)
    exclude[examples.pool_rows] = True
    rows = tag_classifier.background_rows(len(pool), f"{user_pk}:{tag}", exclude)
    positives = np.asarray(list(examples.positives.values()), dtype=np.float32)
    return tag_classifier.train(positives, dislikes, pool.vectors[rows], fp)


def _store_models(
    engine: Engine, user_pk: int, model: str, fresh: list[tuple[str, TagModel]]
) -> None:
    now = datetime.now(UTC)
    with write_transaction(engine) as conn:
        for tag, trained in fresh:
            conn.execute(
                tag_models.delete().where(
                    tag_models.c.user_pk == user_pk,
                    tag_models.c.tag == tag,
                    tag_models.c.model == model,
                )
            )
            conn.execute(
                tag_models.insert().values(
                    user_pk=user_pk,
                    tag=tag,
                    model=model,
                    fingerprint=trained.fingerprint,
                    weights=trained.weights.astype(np.float32).tobytes(),
                    bias=trained.bias,
                    trained_at=now,
                )
            )


def _rank(
    conn: Connection,
    pool: Pool,
    profile: Profile,
    training: dict[str, TrainingSet],
    models: dict[str, TagModel],
    limit: int,
    tag: str | None,
) -> list[Recommendation]:
    tags = sorted(models) if tag is None else [tag]
    scores = np.stack([_pool_scores(pool, models[t]) for t in tags], axis=1)  # (papers, tags)
    seen = np.fromiter(profile.seen, dtype=np.int64, count=len(profile.seen))
    allowed = ~np.isin(pool.pks, seen)
    if tag is None:
        # Put the tags on one scale before taking each paper's best: z-scores over the pool.
        visible = scores[allowed]
        scores = (scores - visible.mean(axis=0)) / (visible.std(axis=0) + 1e-6)
    best_tag = np.argmax(scores, axis=1)
    best = scores[np.arange(len(scores)), best_tag]
    best[~allowed] = -np.inf
    # A few more than shown: papers hidden since the pool was loaded are dropped when read.
    rows = _top(best, limit + 10)
    papers_by_row = _paper_rows(conn, pool, [int(r) for r in rows])
    explain = _Explainer(conn, pool, training)
    items = []
    for row in rows.tolist():
        paper = papers_by_row.get(row)
        if paper is None:
            continue
        row_tag = tags[int(best_tag[row])]
        items.append(
            Recommendation(
                paper_id=paper["id"],
                title=paper["title"],
                authors=paper["authors"],
                abstract=paper["abstract"],
                score=float(best[row]),
                tag=row_tag,
                reason=explain.reason(row, row_tag),
            )
        )
        if len(items) == limit:
            break
    return items


# A tag's scores over the pool, by (classifier, pool): both change rarely (a feedback, a new
# day of papers), requests come often. 64 KB per tag at 16k recent papers.
_SCORES: OrderedDict[tuple[str, tuple[int, int]], npt.NDArray[np.float32]] = OrderedDict()
_SCORES_MAX = 2048


def _pool_scores(pool: Pool, model: TagModel) -> npt.NDArray[np.float32]:
    key = (model.fingerprint, pool.key)
    with _models_lock:
        cached = _SCORES.get(key)
        if cached is not None:
            _SCORES.move_to_end(key)
            return cached
    # One BLAS thread: the product is memory-bound, and BLAS threads spinning against the
    # server's other requests made it 2-3× slower on a busy 2-core machine.
    with _blas().limit(limits=1, user_api="blas"):
        scores = pool.vectors @ model.weights + np.float32(model.bias)
    scores.flags.writeable = False  # shared by requests: nobody may change it in place
    with _models_lock:
        _SCORES[key] = scores
        while len(_SCORES) > _SCORES_MAX:
            _SCORES.popitem(last=False)
    return scores


@functools.cache
def _blas() -> ThreadpoolController:
    return ThreadpoolController()  # inspecting the loaded libraries once, not per request


def _top(values: npt.NDArray[np.float32], k: int) -> npt.NDArray[np.int64]:
    finite = np.flatnonzero(np.isfinite(values))
    if not len(finite):
        return finite
    k = min(k, len(finite))
    best = finite[np.argpartition(-values[finite], k - 1)[:k]]
    return best[np.argsort(-values[best], kind="stable")]


def _paper_rows(conn: Connection, pool: Pool, rows: list[int]) -> dict[int, dict[str, Any]]:
    """Id, title, abstract and authors of the visible papers at pool ``rows``."""
    row_of_pk = {int(pool.pks[r]): r for r in rows}
    if not row_of_pk:
        return {}
    query = select(papers.c.pk, papers.c.id, papers.c.title, papers.c.abstract).where(
        papers.c.pk.in_(list(row_of_pk)), paper_reads.VISIBLE
    )
    found = {
        row_of_pk[r.pk]: {"id": r.id, "title": r.title, "abstract": r.abstract, "authors": []}
        for r in conn.execute(query)
    }
    authors = select(paper_authors.c.paper_pk, paper_authors.c.name).where(
        paper_authors.c.paper_pk.in_(list(row_of_pk))
    )
    for pk, name in conn.execute(
        authors.order_by(paper_authors.c.paper_pk, paper_authors.c.position)
    ):
        if row_of_pk[pk] in found:
            found[row_of_pk[pk]]["authors"].append(name)
    return found


# Word weights of a tag's papers, by (papers, pool): recomputed only when either changes.
_TERM_WEIGHTS: dict[tuple[tuple[int, ...], tuple[int, int]], dict[str, float]] = {}
_TERM_WEIGHTS_MAX = 1024


class _Explainer:
    """Why a pool paper is recommended for a tag: nearest tag paper and shared weighty words."""

    def __init__(self, conn: Connection, pool: Pool, training: dict[str, TrainingSet]) -> None:
        self.conn, self.pool, self.training = conn, pool, training
        self._titles: dict[int, tuple[str, str]] = {}

    def reason(self, row: int, tag: str) -> Reason:
        examples = self.training[tag]
        pks = list(examples.positives)
        matrix = np.asarray(list(examples.positives.values()), dtype=np.float32)
        similarities = matrix @ self.pool.vectors[row]
        best = int(np.argmax(similarities))
        nearest = None if tag.startswith(CATEGORY_PREFIX) else self._title(pks[best])
        own = self.pool.terms(int(self.pool.pks[row]))
        weights = self._weights(pks)
        terms = sorted((t for t in own if t in weights), key=lambda t: (-weights[t], t))
        return Reason(
            tag=tag,
            nearest_id=nearest[0] if nearest else None,
            nearest_title=nearest[1] if nearest else None,
            similarity=float(similarities[best]),
            terms=terms[:EXPLAIN_TERMS],
        )

    def _weights(self, pks: list[int]) -> dict[str, float]:
        """tf (in the tag's papers) × idf (in the pool) of each word of the tag's papers."""
        key = (tuple(sorted(pks)), self.pool.key)
        cached = _TERM_WEIGHTS.get(key)
        if cached is not None:
            return cached
        texts = {pk: self.pool.texts[pk] for pk in pks if pk in self.pool.texts}
        missing = [pk for pk in pks if pk not in texts]
        texts.update(store.paper_texts(self.conn, missing) if missing else {})
        tf: Counter[str] = Counter()
        for title, abstract in texts.values():
            tf.update(set(terms_of(f"{title} {abstract}")))
        df = self.pool.document_frequency()
        n = len(self.pool) + 1
        weights = {
            term: count * math.log(n / (1 + df.get(term, 0)))
            for term, count in tf.items()
            if count >= 2 or len(texts) < 3  # one paper's quirk is not the tag's theme
        }
        if len(_TERM_WEIGHTS) >= _TERM_WEIGHTS_MAX:
            _TERM_WEIGHTS.clear()
        _TERM_WEIGHTS[key] = weights
        return weights

    def _title(self, pk: int) -> tuple[str, str] | None:
        """Id and title of tag paper ``pk``; the first call loads those of every tag at once."""
        if not self._titles:
            pks = sorted(
                {
                    pk
                    for tag, examples in self.training.items()
                    if not tag.startswith(CATEGORY_PREFIX)
                    for pk in examples.positives
                }
            )
            query = select(papers.c.pk, papers.c.id, papers.c.title).where(papers.c.pk.in_(pks))
            self._titles.update({row.pk: (row.id, row.title) for row in self.conn.execute(query)})
        return self._titles.get(pk)
