"""Digests: which papers a subscription gets for a period, and the email that carries them.

A digest holds the top papers first seen (or featured) since that subscription's previous
digest, never one it already got (``digest_history``). Trending digests rank by
``paper_stats.trending_score``, then upvotes (``papers.external_upvotes + paper_stats.upvotes``),
then newest; topic digests rank by the site's search over the same window. After missed periods
the next digest covers everything since the last one: one catch-up, not one per period.
"""

from __future__ import annotations

import email
import email.policy
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from email.utils import formatdate
from functools import lru_cache
from urllib.parse import quote, urlsplit

from sqlalchemy import ColumnElement, Connection, Engine, and_, func, or_, select

from paperfeed.config import Settings
from paperfeed.ingest.ids import is_arxiv_id
from paperfeed.mail.mime import RawMessage, address_header, compose
from paperfeed.mail.render import render_pair
from paperfeed.mail.subscriptions import (
    Subscription,
    account_of,
    preferences_url,
    unsubscribe_url,
)
from paperfeed.mail.transport import address_of, digest_from, mail_domain
from paperfeed.store import paper_reads
from paperfeed.store.community_schema import paper_stats
from paperfeed.store.mail_schema import digest_history
from paperfeed.store.schema import paper_authors, papers

PERIOD_LENGTH = {"daily": timedelta(days=1), "weekly": timedelta(days=7)}
# However long a subscription was without digests, its catch-up looks back at most this far.
MAX_CATCH_UP = timedelta(days=31)
# Candidates fetched per window before each subscription's history is taken out.
CANDIDATE_SLACK = 100
SUMMARY_CHARS = 240

UPVOTES = paper_reads.UPVOTES


def period_of(frequency: str, now: datetime) -> str:
    """The period ``now`` falls in: ``2026-11-25`` (daily) or ``2026-W48`` (ISO week)."""
    now = now.astimezone(UTC)
    if frequency == "weekly":
        year, week, _ = now.isocalendar()
        return f"{year}-W{week:02d}"
    return now.date().isoformat()


def window_start(sub: Subscription, now: datetime) -> datetime:
    """Where this subscription's next digest starts: its previous digest's end (bounded)."""
    length = PERIOD_LENGTH[sub.frequency]
    start = sub.last_window_end or (now - length)
    return max(start, now - MAX_CATCH_UP)


@dataclass(frozen=True, slots=True)
class DigestPaper:
    pk: int
    id: str
    title: str
    authors: str
    summary: str
    upvotes: int
    path: str = ""  # the paper page, relative to BASE_URL
    arxiv_url: str | None = None


def summary_of(abstract: str, limit: int = SUMMARY_CHARS) -> str:
    """About two lines: the abstract's first sentences, cut at a word boundary."""
    text = " ".join(abstract.split())
    if len(text) <= limit:
        return text
    cut = text[:limit]
    sentence_end = max(cut.rfind(". "), cut.rfind("? "), cut.rfind("! "))
    if sentence_end >= limit // 2:
        return cut[: sentence_end + 1]
    return cut.rsplit(" ", 1)[0].rstrip(",.;:") + "…"


def short_authors(names: Sequence[str], limit: int = 4) -> str:
    if len(names) <= limit:
        return ", ".join(names)
    return f"{', '.join(names[:limit])} and {len(names) - limit} more"


def _in_window(start: datetime, end: datetime) -> ColumnElement[bool]:
    return and_(
        paper_reads.VISIBLE,
        or_(
            and_(papers.c.first_seen_at >= start, papers.c.first_seen_at < end),
            and_(
                papers.c.featured_day >= start.date(),
                papers.c.featured_day <= end.date(),
                papers.c.first_seen_at < end,
            ),
        ),
    )


def trending_candidates(conn: Connection, start: datetime, end: datetime, limit: int) -> list[int]:
    query = (
        select(papers.c.pk)
        .select_from(papers.outerjoin(paper_stats, paper_stats.c.paper_pk == papers.c.pk))
        .where(_in_window(start, end))
        .order_by(
            func.coalesce(paper_stats.c.trending_score, 0.0).desc(),
            UPVOTES.desc(),
            papers.c.first_seen_at.desc(),
            papers.c.pk.desc(),
        )
        .limit(limit)
    )
    return list(conn.execute(query).scalars())


def topic_candidates(
    conn: Connection, query: str, start: datetime, end: datetime, limit: int
) -> list[int]:
    """The search's ranking, restricted to papers of the window (negative terms included)."""
    from paperfeed.search.service import search

    found = search(conn, query, limit=1000)
    return ids_in_window(conn, [r.id for r in found.results], start, end, limit)


def ids_in_window(
    conn: Connection, ids: Sequence[str], start: datetime, end: datetime, limit: int
) -> list[int]:
    """The pks of ``ids`` (a ranking) that fall in the window, in ranking order."""
    if not ids:
        return []
    rank = {paper_id: i for i, paper_id in enumerate(ids)}
    found_pks = {
        row.id: row.pk
        for row in conn.execute(
            select(papers.c.pk, papers.c.id).where(papers.c.id.in_(ids), _in_window(start, end))
        )
    }
    ordered = sorted(found_pks, key=rank.__getitem__)
    return [found_pks[paper_id] for paper_id in ordered[:limit]]


def for_you_ranks(
    engine: Engine, settings: Settings, subs: Sequence[Subscription]
) -> dict[int, list[str]]:
    """Each "for you" subscription's recommendations (paper ids, best first).

    Made before digests are written: ranking may train and store a user's classifiers,
    which must not happen inside the digest transaction.
    """
    wanted = [sub for sub in subs if sub.kind == "for_you"]
    if not wanted:
        return {}
    from paperfeed.rank.for_you import recommend

    ranks: dict[int, list[str]] = {}
    for sub in wanted:
        with engine.connect() as conn:
            user_pk = account_of(conn, sub.email)
        if user_pk is None:
            ranks[sub.pk] = []
            continue
        result = recommend(
            engine, user_pk, limit=settings.digest_max_papers + CANDIDATE_SLACK, settings=settings
        )
        ranks[sub.pk] = [paper.paper_id for paper in result.papers]
    return ranks


def history_of(
    conn: Connection, sub_pks: Iterable[int], paper_pks: Iterable[int]
) -> set[tuple[int, int]]:
    """Which of ``paper_pks`` each of ``sub_pks`` already got, as (subscription, paper) pairs."""
    sub_list, paper_list = list(sub_pks), list(paper_pks)
    if not sub_list or not paper_list:
        return set()
    rows = conn.execute(
        select(digest_history.c.subscription_pk, digest_history.c.paper_pk).where(
            digest_history.c.subscription_pk.in_(sub_list),
            digest_history.c.paper_pk.in_(paper_list),
        )
    )
    return {(row[0], row[1]) for row in rows}


class Composer:
    """Picks each subscription's papers; windows shared by many subscriptions are ranked once."""

    def __init__(
        self,
        conn: Connection,
        max_papers: int,
        ranked: dict[tuple[str, str, datetime, datetime], list[int]] | None = None,
        for_you: dict[int, list[str]] | None = None,
    ) -> None:
        self.conn = conn
        self.max_papers = max_papers
        # Shared between the batches of one run: a window is ranked once, not per batch.
        self._cache = ranked if ranked is not None else {}
        # "For you" rankings, made beforehand (outside any write transaction): see for_you_ranks.
        self.for_you = for_you

    def candidates(self, sub: Subscription, start: datetime, end: datetime) -> list[int]:
        if sub.kind == "for_you":
            ranked = (self.for_you or {}).get(sub.pk, [])
            return ids_in_window(self.conn, ranked, start, end, self.max_papers + CANDIDATE_SLACK)
        key = (sub.kind, sub.query, start, end)
        if key not in self._cache:
            limit = self.max_papers + CANDIDATE_SLACK
            if sub.kind == "topic":
                found = topic_candidates(self.conn, sub.query, start, end, limit)
            else:
                found = trending_candidates(self.conn, start, end, limit)
            self._cache[key] = found
        return self._cache[key]

    def pick(self, subs: Sequence[Subscription], now: datetime) -> dict[int, list[int]]:
        """Paper pks for each subscription (possibly empty), best first."""
        windows = {sub.pk: (window_start(sub, now), now) for sub in subs}
        lists = {sub.pk: self.candidates(sub, *windows[sub.pk]) for sub in subs}
        every = {pk for found in lists.values() for pk in found}
        got = history_of(self.conn, lists, every)
        return {
            sub_pk: [pk for pk in found if (sub_pk, pk) not in got][: self.max_papers]
            for sub_pk, found in lists.items()
        }


class PaperCache:
    """Paper rows for rendering, loaded in bulk and kept for a whole send run."""

    def __init__(self) -> None:
        self._papers: dict[int, DigestPaper] = {}

    def get(self, conn: Connection, pks: Sequence[int]) -> list[DigestPaper]:
        missing = [pk for pk in pks if pk not in self._papers]
        if missing:
            self.load(conn, missing)
        return [self._papers[pk] for pk in pks if pk in self._papers]

    def load(self, conn: Connection, pks: Sequence[int]) -> None:
        authors: dict[int, list[str]] = {}
        for paper_pk, name in conn.execute(
            select(paper_authors.c.paper_pk, paper_authors.c.name)
            .where(paper_authors.c.paper_pk.in_(pks))
            .order_by(paper_authors.c.paper_pk, paper_authors.c.position)
        ):
            authors.setdefault(paper_pk, []).append(name)
        paper_rows = conn.execute(
            select(
                papers.c.pk,
                papers.c.id,
                papers.c.title,
                papers.c.abstract,
                UPVOTES.label("upvotes"),
            )
            .select_from(papers.outerjoin(paper_stats, paper_stats.c.paper_pk == papers.c.pk))
            # Hidden since the digest was queued: it leaves the mail as it left the site.
            .where(papers.c.pk.in_(pks), paper_reads.VISIBLE)
        )
        for row in paper_rows:
            self._papers[row.pk] = DigestPaper(
                pk=row.pk,
                id=row.id,
                title=" ".join(row.title.split()),
                authors=short_authors(authors.get(row.pk, [])),
                summary=summary_of(row.abstract),
                upvotes=int(row.upvotes or 0),
                path=f"/papers/{quote(row.id, safe='/.-')}",
                arxiv_url=f"https://arxiv.org/abs/{row.id}" if is_arxiv_id(row.id) else None,
            )


def message_id(settings: Settings, subscription_pk: int, period: str) -> str:
    """Deterministic: the same (subscription, period) always has the same Message-ID."""
    return f"<digest.{subscription_pk}.{period}@{_domain(settings.mail_from, settings.base_url)}>"


@lru_cache(maxsize=8)
def _domain(mail_from: str, base_url: str) -> str:
    return mail_domain(Settings(mail_from=mail_from, base_url=base_url))


def list_id(settings: Settings, sub: Subscription) -> str:
    domain = _domain(settings.mail_from, settings.base_url)
    return f"paperfeed {sub.kind} {sub.frequency} digest <{sub.kind}-{sub.frequency}.{domain}>"


def heading_of(sub: Subscription, period: str, count: int) -> tuple[str, str, str]:
    when = "today" if sub.frequency == "daily" else "this week"
    if sub.kind == "topic":
        heading = f"New papers on “{sub.query}”"
        intro = f"{count} new paper{'s' if count != 1 else ''} matching your topic."
    elif sub.kind == "for_you":
        heading = "Papers for you " + when
        intro = f"{count} new paper{'s' if count != 1 else ''} picked from your library's tags."
    else:
        heading = "Trending papers " + when
        intro = f"The {count} most upvoted and discussed new paper{'s' if count != 1 else ''}."
    subject = f"{heading} ({period})"
    return heading, intro, subject


_UNSAFE = re.compile(r"[\r\n]+")


def build_raw(
    settings: Settings,
    sub: Subscription,
    period: str,
    digest_papers: Sequence[DigestPaper],
    now: datetime,
    message_id_value: str | None = None,
    feedback_user: int | None = None,
) -> RawMessage:
    """The digest email: text + HTML, List-Unsubscribe (RFC 8058), List-Id, Message-ID, Date.

    ``feedback_user`` (a "for you" digest's account) adds signed 👍/👎 links to each paper."""
    base = settings.base_url.rstrip("/")
    unsubscribe = unsubscribe_url(settings, sub.pk, now)
    preferences = preferences_url(settings, sub.pk, now)
    heading, intro, subject = heading_of(sub, period, len(digest_papers))
    context = {
        "heading": heading,
        "intro": intro,
        "base": base,
        "papers": digest_papers,
        "email": sub.email,
        "label": sub.phrase,
        "site": urlsplit(base).netloc or base,
        "site_url": base + "/",
        "preferences_url": preferences,
        "unsubscribe_url": unsubscribe,
        "feedback": feedback_links(settings, feedback_user, digest_papers, now),
    }
    text, html = render_pair("digest", context)
    sender = _sender(settings.mail_from, settings.base_url)
    headers = [
        ("From", sender[0]),
        ("To", sub.email),
        ("Subject", _UNSAFE.sub(" ", subject)),
        ("Date", formatdate(now.timestamp(), usegmt=True)),
        ("Message-ID", message_id_value or message_id(settings, sub.pk, period)),
        ("List-Id", list_id(settings, sub)),
        # RFC 8058: an HTTPS URL answering a POST of "List-Unsubscribe=One-Click" (production
        # needs BASE_URL on https; an http BASE_URL is used as it is, for local testing).
        ("List-Unsubscribe", f"<{unsubscribe}>"),
        ("List-Unsubscribe-Post", "List-Unsubscribe=One-Click"),
        ("Auto-Submitted", "auto-generated"),
        ("Precedence", "bulk"),
    ]
    return compose(headers, text, html, sender[1], sub.email)


def feedback_links(
    settings: Settings, user_pk: int | None, digest_papers: Sequence[DigestPaper], now: datetime
) -> dict[str, tuple[str, str]]:
    """Paper id -> (more like this, less like this) URLs: signed, single-purpose links whose
    page records the vote with a POST (``/feedback/<token>``)."""
    if user_pk is None:
        return {}
    from paperfeed.rank.feedback import FeedbackToken, make_feedback_token

    secret, base = settings.resolved_secret_key(), settings.base_url.rstrip("/")
    links = {}
    for paper in digest_papers:
        up, down = (
            make_feedback_token(secret, FeedbackToken(user_pk, paper.id, value, ""), now)
            for value in (1, -1)
        )
        links[paper.id] = (f"{base}/feedback/{up}", f"{base}/feedback/{down}")
    return links


@lru_cache(maxsize=8)
def _sender(mail_from: str, base_url: str) -> tuple[str, str]:
    """The digest From header and its bare address (parsed once, not per message)."""
    value = digest_from(Settings(mail_from=mail_from, base_url=base_url))
    return address_header(value), address_of(value)


def build_message(
    settings: Settings,
    sub: Subscription,
    period: str,
    digest_papers: Sequence[DigestPaper],
    now: datetime,
    message_id_value: str | None = None,
) -> EmailMessage:
    """The same digest as an EmailMessage (previews; the send path uses ``build_raw``)."""
    raw = build_raw(settings, sub, period, digest_papers, now, message_id_value)
    message = email.message_from_bytes(raw.data, policy=email.policy.default)
    assert isinstance(message, EmailMessage)
    return message
