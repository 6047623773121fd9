"""Trending: a published score over recent community activity, with exponential time decay.

The score of a paper at time ``now`` is a sum of five terms, each shown to readers as "why it
is trending" (stored with the score in ``paper_stats.trending_terms``)::

    decayed(kind) = sum over days d in the last W days of  count(kind, d) * 2 ** (-age(d) / H)

    score = w_up      * decayed(upvote)                     # upvotes on this site
          + w_comment * decayed(comment)                    # comments
          + w_view    * decayed(view)                       # paper-page views
          + w_stars   * log2(1 + decayed(stars))            # GitHub-star growth of the code repo
          + w_ext     * external_upvotes * 2 ** (-age(featured day) / H)   # Hugging Face upvotes

``age(d)`` is the hours from the middle (12:00 UTC) of day ``d`` to ``now``, never negative;
``H`` is ``trending_half_life_hours``, ``W`` is ``trending_window_days`` and the weights are the
``trending_weight_*`` settings. Activity is counted per paper, day and kind in
``paper_activity``: ``record_activity`` adds to it when a vote, comment or view lands, and the
star growth is the day-by-day change of ``paper_links.stars`` (the code link's star count)
snapshotted by ``recompute_trending``. Stars count through a logarithm because a popular
repository gains thousands where a paper gains tens of upvotes. Imported upvotes have no dates
of their own, so they decay from the day the paper was featured (else published, else first
seen).

Scores are stored, never computed per request: ``record_activity`` recomputes the one paper it
touches, inside the caller's transaction; ``recompute_trending`` recomputes every paper with
activity in the window (time decay lowers scores as hours pass), and runs after an ingest that
brought upvotes or stars, from ``paperfeed trending --recompute``, or from a scheduled job.
Readers decay a stored score to the time of reading with ``decay_factor`` / ``decayed``.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import orjson
from sqlalchemy import Connection, DateTime, Engine, case, func, or_, select
from sqlalchemy.dialects import postgresql, sqlite

from paperfeed.config import Settings, get_settings
from paperfeed.store.community_schema import comments, paper_activity, paper_stats
from paperfeed.store.engine import write_transaction
from paperfeed.store.schema import paper_links, papers

# What record_activity accepts, and the paper_stats counter each one moves.
COUNTERS = {"upvote": "upvotes", "comment": "comments", "view": "views"}
STARS = "stars"
# The names of the terms in paper_stats.trending_terms, in the order pages show them.
TERM_NAMES = ("upvotes", "comments", "views", "stars", "hf_upvotes")
TERM_LABELS = {  # (one, many)
    "upvotes": ("upvote", "upvotes"),
    "comments": ("comment", "comments"),
    "views": ("view", "views"),
    "stars": ("new GitHub star", "new GitHub stars"),
    "hf_upvotes": ("Hugging Face upvote", "Hugging Face upvotes"),
}
_IN_CHUNK = 900


@dataclass(frozen=True, slots=True)
class TrendingParams:
    half_life_hours: float = 24.0
    window_days: int = 14
    weight_upvote: float = 1.0
    weight_comment: float = 2.0
    weight_view: float = 0.05
    weight_stars: float = 1.0
    weight_external: float = 0.5

    @classmethod
    def from_settings(cls, settings: Settings | None = None) -> TrendingParams:
        s = settings or get_settings()
        return cls(
            half_life_hours=s.trending_half_life_hours,
            window_days=s.trending_window_days,
            weight_upvote=s.trending_weight_upvote,
            weight_comment=s.trending_weight_comment,
            weight_view=s.trending_weight_view,
            weight_stars=s.trending_weight_stars,
            weight_external=s.trending_weight_external,
        )


@dataclass(frozen=True, slots=True)
class Activity:
    day: date
    kind: str
    count: int


def _now(now: datetime | None) -> datetime:
    return (now or datetime.now(UTC)).astimezone(UTC)


def day_age_hours(day: date, now: datetime) -> float:
    """Hours from the middle of ``day`` (UTC) to ``now``; 0 for a day not yet half over."""
    middle = datetime.combine(day, time(12), tzinfo=UTC)
    return max(0.0, (now - middle).total_seconds() / 3600)


def decay(day: date, now: datetime, half_life_hours: float) -> float:
    return 0.5 ** (day_age_hours(day, now) / half_life_hours)


def decay_factor(computed_at: datetime | None, now: datetime, half_life_hours: float) -> float:
    """How much a score computed at ``computed_at`` has decayed by ``now`` (1 when unknown).

    Every term but the stars' decays exactly so; the stars' term (a logarithm) decays a
    little slower, so this slightly understates it until the next recompute."""
    if computed_at is None:
        return 1.0
    if computed_at.tzinfo is None:
        computed_at = computed_at.replace(tzinfo=UTC)
    hours = max(0.0, (now - computed_at).total_seconds() / 3600)
    return float(0.5 ** (hours / half_life_hours))


def decayed(
    score: float, terms: dict[str, Any], factor: float, now: datetime
) -> tuple[float, dict[str, Any]]:
    """A stored score and its terms as of ``now`` (``factor`` from ``decay_factor``)."""
    if factor == 1.0:
        return score, terms
    found = terms.get("terms", {})
    scaled = {
        name: {**term, "points": round(float(term.get("points", 0)) * factor, 3)}
        for name, term in found.items()
        if isinstance(term, dict)
    }
    as_of = now.astimezone(UTC).isoformat(timespec="seconds")
    return round(score * factor, 6), {**terms, "terms": scaled, "as_of": as_of}


def score_terms(
    activity: Iterable[Activity],
    external_upvotes: int,
    external_day: date | None,
    now: datetime,
    params: TrendingParams,
) -> tuple[float, dict[str, Any]]:
    """The score and its terms: ``{name: {"count": raw count, "points": points}, ...}``."""
    now = _now(now)
    first = now.date() - timedelta(days=params.window_days - 1)
    counts: dict[str, float] = defaultdict(float)
    decayed: dict[str, float] = defaultdict(float)
    for row in activity:
        if row.day < first:
            continue
        counts[row.kind] += row.count
        decayed[row.kind] += row.count * decay(row.day, now, params.half_life_hours)
    stars_growth = max(0.0, decayed[STARS])
    external = 0.0
    if external_upvotes > 0 and external_day is not None and external_day >= first:
        external = external_upvotes * decay(external_day, now, params.half_life_hours)
    points = {
        "upvotes": params.weight_upvote * max(0.0, decayed["upvote"]),
        "comments": params.weight_comment * max(0.0, decayed["comment"]),
        "views": params.weight_view * max(0.0, decayed["view"]),
        "stars": params.weight_stars * math.log2(1 + stars_growth),
        "hf_upvotes": params.weight_external * external,
    }
    raw = {
        "upvotes": counts["upvote"],
        "comments": counts["comment"],
        "views": counts["view"],
        "stars": counts[STARS],
        "hf_upvotes": external_upvotes if external else 0,
    }
    terms: dict[str, Any] = {
        name: {"count": int(raw[name]), "points": round(points[name], 3)} for name in TERM_NAMES
    }
    score = round(sum(points.values()), 6)
    return score, {
        "terms": terms,
        "half_life_hours": params.half_life_hours,
        "window_days": params.window_days,
        "computed_at": now.isoformat(timespec="seconds"),
    }


def why_trending(terms: dict[str, Any]) -> list[tuple[str, int, float]]:
    """The terms that add points, largest first: (label, count, points)."""
    found = terms.get("terms", {}) if isinstance(terms, dict) else {}
    rows = []
    for name, term in found.items():
        if not isinstance(term, dict) or float(term.get("points", 0)) <= 0:
            continue
        count = int(term.get("count", 0))
        one, many = TERM_LABELS.get(name, (name, name))
        rows.append((one if count == 1 else many, count, float(term.get("points", 0))))
    return sorted(rows, key=lambda row: -row[2])


def _insert(conn: Connection, table: Any) -> Any:
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    return dialect.insert(table)


def record_activity(
    conn: Connection,
    paper_pk: int,
    kind: str,
    delta: int = 1,
    *,
    now: datetime | None = None,
    day: date | None = None,
    settings: Settings | None = None,
) -> None:
    """Count ``delta`` of ``kind`` ("upvote", "comment" or "view"; negative to withdraw) for a
    paper on ``day`` (default today), and recompute its trending score. Runs inside the
    caller's transaction."""
    if kind not in COUNTERS:
        raise ValueError(f"unknown activity kind {kind!r}; expected one of {sorted(COUNTERS)}")
    now = _now(now)
    _add_activity(conn, paper_pk, day or now.date(), kind, delta)
    counter = COUNTERS[kind]
    insert = _insert(conn, paper_stats).values(
        paper_pk=paper_pk,
        upvotes=max(0, delta) if counter == "upvotes" else 0,
        comments=max(0, delta) if counter == "comments" else 0,
        views=max(0, delta) if counter == "views" else 0,
        trending_score=0.0,
        trending_terms="{}",
        updated_at=now,
    )
    column = paper_stats.c[counter]
    conn.execute(
        insert.on_conflict_do_update(
            index_elements=[paper_stats.c.paper_pk],
            set_={counter: column + delta},
        )
    )
    refresh_scores(conn, [paper_pk], now=now, params=TrendingParams.from_settings(settings))


def record_views(
    conn: Connection,
    counts: Mapping[tuple[int, date], int],
    *,
    now: datetime | None = None,
    settings: Settings | None = None,
) -> None:
    """Count a batch of views (``{(paper, day): new viewers}``) and rescore those papers once:
    what ``community.views`` flushes instead of one ``record_activity`` per view."""
    now = _now(now)
    per_paper: dict[int, int] = defaultdict(int)
    for (paper_pk, day), count in sorted(counts.items()):
        _add_activity(conn, paper_pk, day, "view", count)
        per_paper[paper_pk] += count
    for paper_pk, count in sorted(per_paper.items()):
        insert = _insert(conn, paper_stats).values(
            paper_pk=paper_pk,
            upvotes=0,
            comments=0,
            views=count,
            trending_score=0.0,
            trending_terms="{}",
            updated_at=now,
        )
        conn.execute(
            insert.on_conflict_do_update(
                index_elements=[paper_stats.c.paper_pk],
                set_={"views": paper_stats.c.views + count},
            )
        )
    refresh_scores(conn, sorted(per_paper), now=now, params=TrendingParams.from_settings(settings))


def _add_activity(conn: Connection, paper_pk: int, day: date, kind: str, delta: int) -> None:
    insert = _insert(conn, paper_activity).values(
        paper_pk=paper_pk, day=day, kind=kind, count=delta
    )
    conn.execute(
        insert.on_conflict_do_update(
            index_elements=[paper_activity.c.paper_pk, paper_activity.c.day, paper_activity.c.kind],
            set_={"count": paper_activity.c["count"] + delta},
        )
    )


def _external_day(row: Any) -> date | None:
    if row.featured_day is not None:
        day: date = row.featured_day
        return day
    if row.published is not None:
        published: date = row.published
        return published
    first_seen = row.first_seen_at
    return first_seen.date() if first_seen is not None else None


def refresh_scores(
    conn: Connection,
    paper_pks: Sequence[int],
    *,
    now: datetime | None = None,
    params: TrendingParams | None = None,
    stored_at: datetime | None = None,
) -> None:
    """Recompute and store the trending score and terms of ``paper_pks`` as of ``now``.

    ``stored_at`` (default ``now``) is when the score is stored: readers decay a score from
    then. When it is later than ``now`` (a quiet store, see ``reference_time``), the terms
    say which day the score is based on (``based_on``)."""
    now = _now(now)
    stored = _now(stored_at or now)
    based_on = now.date() - timedelta(days=1) if stored - now > timedelta(hours=1) else None
    params = params or TrendingParams.from_settings()
    first = now.date() - timedelta(days=params.window_days - 1)
    for start in range(0, len(paper_pks), _IN_CHUNK):
        chunk = list(paper_pks[start : start + _IN_CHUNK])
        activity: dict[int, list[Activity]] = defaultdict(list)
        query = select(paper_activity).where(
            paper_activity.c.paper_pk.in_(chunk), paper_activity.c.day >= first
        )
        for row in conn.execute(query):
            if row.kind != "comment":  # comments count by commenter, below
                count = int(row._mapping["count"])
                activity[row.paper_pk].append(Activity(row.day, row.kind, count))
        for pk, day in commenters(conn, chunk):
            activity[pk].append(Activity(day, "comment", 1))
        heads = conn.execute(
            select(
                papers.c.pk,
                papers.c.external_upvotes,
                papers.c.featured_day,
                papers.c.published,
                papers.c.first_seen_at,
            ).where(papers.c.pk.in_(chunk))
        ).all()
        values = []
        for head in heads:
            score, terms = score_terms(
                activity[head.pk], head.external_upvotes or 0, _external_day(head), now, params
            )
            if based_on is not None:
                terms["based_on"] = based_on.isoformat()
            values.append(
                {
                    "paper_pk": head.pk,
                    "upvotes": 0,
                    "comments": 0,
                    "views": 0,
                    "trending_score": score,
                    "trending_terms": orjson.dumps(terms).decode(),
                    "updated_at": stored,
                }
            )
        if not values:
            continue
        insert = _insert(conn, paper_stats)
        conn.execute(
            insert.on_conflict_do_update(
                index_elements=[paper_stats.c.paper_pk],
                set_={
                    "trending_score": insert.excluded.trending_score,
                    "trending_terms": insert.excluded.trending_terms,
                    "updated_at": insert.excluded.updated_at,
                },
            ),
            values,
        )


def commenters(conn: Connection, paper_pks: Sequence[int]) -> list[tuple[int, date]]:
    """(paper, day) once per person with a visible comment on the paper, on the day of their
    first comment there (deleted ones included): more comments, or deleting and posting again,
    add nothing."""
    visible = comments.c.deleted_at.is_(None) & comments.c.hidden_at.is_(None)
    query = (
        select(
            comments.c.paper_pk,
            func.min(comments.c.created_at, type_=DateTime(timezone=True)).label("first"),
        )
        .where(comments.c.paper_pk.in_(list(paper_pks)))
        .group_by(comments.c.paper_pk, comments.c.user_pk)
        .having(func.sum(case((visible, 1), else_=0)) > 0)
    )
    return [(row.paper_pk, row.first.date()) for row in conn.execute(query)]


def snapshot_stars(conn: Connection, now: datetime | None = None) -> int:
    """Record star growth: where a code link's ``stars`` differs from the stars recorded so far
    (the sum of the paper's "stars" activity), add the difference to today's row. A paper's
    first snapshot lands on its own day (featured, else published, else first seen): the stars
    it gathered before arriving here are old news, so an old paper imported today does not
    jump.
    Returns how many papers changed."""
    now = _now(now)
    current = {
        row.paper_pk: int(row.stars)
        for row in conn.execute(
            select(paper_links.c.paper_pk, paper_links.c.stars).where(
                paper_links.c.kind == "code", paper_links.c.stars.is_not(None)
            )
        )
    }
    if not current:
        return 0
    recorded = {
        row.paper_pk: int(row.total)
        for row in conn.execute(
            select(paper_activity.c.paper_pk, func.sum(paper_activity.c["count"]).label("total"))
            .where(paper_activity.c.kind == STARS)
            .group_by(paper_activity.c.paper_pk)
        )
    }
    changed = [pk for pk, stars in current.items() if recorded.get(pk) != stars]
    first_day: dict[int, date] = {}
    new = [pk for pk in changed if pk not in recorded]
    for start in range(0, len(new), _IN_CHUNK):
        chunk = new[start : start + _IN_CHUNK]
        rows = conn.execute(
            select(
                papers.c.pk, papers.c.first_seen_at, papers.c.featured_day, papers.c.published
            ).where(papers.c.pk.in_(chunk))
        )
        first_day.update({row.pk: _external_day(row) or now.date() for row in rows})
    for pk in changed:
        if pk in recorded:
            _add_activity(conn, pk, now.date(), STARS, current[pk] - recorded[pk])
        else:
            day = min(now.date(), first_day.get(pk, now.date()))
            _add_activity(conn, pk, day, STARS, current[pk])
    return len(changed)


def recompute_trending(
    engine: Engine, *, now: datetime | None = None, settings: Settings | None = None
) -> int:
    """Snapshot star growth, then recompute every paper with activity in the window, with
    imported upvotes in it, or with a score to decay. Returns how many papers were scored."""
    now = _now(now)
    params = TrendingParams.from_settings(settings)
    with write_transaction(engine) as conn:
        snapshot_stars(conn, now)
        at = reference_time(conn, now, params)
        first = at.date() - timedelta(days=params.window_days - 1)
        pks: set[int] = set(
            conn.scalars(
                select(paper_activity.c.paper_pk).where(paper_activity.c.day >= first).distinct()
            )
        )
        recent = or_(
            papers.c.featured_day >= first,
            (papers.c.featured_day.is_(None) & (papers.c.published >= first)),
            papers.c.first_seen_at >= datetime.combine(first, time(), tzinfo=UTC),
        )
        pks.update(conn.scalars(select(papers.c.pk).where(papers.c.external_upvotes > 0, recent)))
        pks.update(
            conn.scalars(select(paper_stats.c.paper_pk).where(paper_stats.c.trending_score > 0))
        )
        ordered = sorted(pks)
        refresh_scores(conn, ordered, now=at, params=params, stored_at=now)
    return len(ordered)


def latest_signal_day(conn: Connection) -> date | None:
    """The last day anything counted for trending happened: activity of any kind, or the day
    a paper with imported upvotes was featured (else published)."""
    last = func.max(paper_activity.c.day)
    active = conn.scalar(select(last).where(paper_activity.c["count"] > 0))
    imported = conn.scalar(
        select(func.max(func.coalesce(papers.c.featured_day, papers.c.published))).where(
            papers.c.external_upvotes > 0
        )
    )
    days = [day for day in (active, imported) if day is not None]
    return max(days) if days else None


def reference_time(conn: Connection, now: datetime, params: TrendingParams) -> datetime:
    """The moment trending is computed for: ``now``, unless nothing happened in the window;
    then the end of the latest day with signal, so that a quiet store (a fresh install over
    the bundled sample, a mirror of old papers) shows what was trending then, "as of" that
    day, rather than nothing."""
    latest = latest_signal_day(conn)
    first = now.date() - timedelta(days=params.window_days - 1)
    if latest is None or latest >= first:
        return now
    return datetime.combine(latest + timedelta(days=1), time(), tzinfo=UTC)


def load_terms(text: str | None) -> dict[str, Any]:
    """paper_stats.trending_terms as a dict ({} when empty or unreadable)."""
    if not text:
        return {}
    try:
        value = orjson.loads(text)
    except orjson.JSONDecodeError:
        return {}
    return value if isinstance(value, dict) else {}
