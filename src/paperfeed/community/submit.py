"""Submissions: a signed-in user adds a paper by arXiv id or URL, or by manual entry.

The paper goes through the normal ingest path (``prepare`` + ``upsert_batch``), so a paper that
is already here (same arXiv id in any version, or a title-only record with the same title) is
the one that is found, never a second copy. A ``submissions`` row records who submitted a new
paper; submitting one that is already here credits nobody. Accounts younger than a day may
submit only a few papers a day.

A person waits on the answer, so arXiv is asked with little patience: no retry when it cannot
be reached at all, and at most SUBMIT_PATIENCE seconds of retry waits when it is busy. The
message shown names no internal address; the details go to the log.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import Connection, Engine, func, insert, select

from paperfeed.community.ratelimit import DAY, RateLimited, record_attempt
from paperfeed.community.users import User
from paperfeed.config import Settings
from paperfeed.domain import Link, PaperRecord, RecordError
from paperfeed.ingest.formats import IngestError
from paperfeed.ingest.ids import InvalidPaperId, is_synthetic, parse_arxiv_id
from paperfeed.ingest.net.arxiv_api import fetch_arxiv_records
from paperfeed.ingest.net.arxiv_client import ArxivClient, ArxivError
from paperfeed.ingest.net.http import FetchError, Unreachable
from paperfeed.ingest.normalise import Prepared, prepare
from paperfeed.ingest.upsert import upsert_batch
from paperfeed.store.community_schema import submissions
from paperfeed.store.engine import write_transaction
from paperfeed.store.schema import papers

NEW_ACCOUNT_AGE = timedelta(hours=24)
NEW_ACCOUNT_DAILY_LIMIT = 3
RATE_KIND = "submit"
MAX_URL_CHARS = 2000
SUBMIT_PATIENCE = 8.0  # seconds of retry waits a submission may spend when arXiv is busy

log = logging.getLogger(__name__)


class SubmitError(ValueError):
    """A submission that was refused; the message is shown on the form."""


class ArxivUnavailable(SubmitError):
    """arXiv could not be asked (network, server error); trying later may work."""


class SubmitRateLimited(SubmitError):
    def __init__(self, retry_after: int) -> None:
        hours = max(1, round(retry_after / 3600))
        super().__init__(
            f"New accounts may submit {NEW_ACCOUNT_DAILY_LIMIT} papers a day. "
            f"Try again in about {hours} hour{'s' if hours != 1 else ''}."
        )
        self.retry_after = retry_after


@dataclass(frozen=True, slots=True)
class Submitted:
    paper_id: str
    paper_pk: int
    created: bool  # False when the paper was already here
    hidden: bool


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def is_new_account(user: User, now: datetime | None = None) -> bool:
    return (now or datetime.now(UTC)) - _aware(user.created_at) < NEW_ACCOUNT_AGE


def _recent_count(engine: Engine, user: User, now: datetime) -> int:
    query = select(func.count()).where(
        submissions.c.user_pk == user.pk, submissions.c.created_at > now - DAY
    )
    with engine.connect() as conn:
        return int(conn.execute(query).scalar_one())


def _precheck_limit(engine: Engine, user: User, now: datetime) -> None:
    # Before any network call: a limited account does not make us fetch from arXiv.
    if is_new_account(user, now) and _recent_count(engine, user, now) >= NEW_ACCOUNT_DAILY_LIMIT:
        raise SubmitRateLimited(int(DAY.total_seconds()))


def normalise_arxiv(raw: str) -> str:
    """The arXiv id named by ``raw`` (an id, ``arXiv:`` id, arXiv or Hugging Face paper URL)."""
    text = raw.strip()
    if not text:
        raise SubmitError("Enter an arXiv id (like 2401.12345) or an arXiv URL.")
    try:
        return str(parse_arxiv_id(text))
    except InvalidPaperId:
        raise SubmitError(
            f"{text[:100]!r} is not an arXiv id or arXiv URL "
            "(for example 2401.12345 or https://arxiv.org/abs/2401.12345)."
        ) from None


def submit_arxiv(engine: Engine, settings: Settings, user: User, raw: str) -> Submitted:
    """Fetch the paper's metadata from arXiv and store it; nothing is stored on any error."""
    arxiv_id = normalise_arxiv(raw)
    now = datetime.now(UTC)
    _precheck_limit(engine, user, now)
    known = _stored_paper(engine, arxiv_id)
    if known is not None:  # no need to ask arXiv (and wait out its politeness delay)
        return known
    client = ArxivClient(settings, patience=SUBMIT_PATIENCE)
    try:
        (record,) = fetch_arxiv_records([arxiv_id], settings, client)
    except FetchError as error:
        log.warning("arXiv fetch failed", extra={"arxiv_id": arxiv_id, "error": str(error)})
        raise ArxivUnavailable(f"Could not get {arxiv_id} from arXiv: {_why(error)}") from None
    except IngestError as error:
        raise SubmitError(f"Could not get {arxiv_id} from arXiv: {error}") from None
    return _store(engine, user, record, "arxiv", now)


def _why(error: FetchError) -> str:
    """What went wrong with arXiv, in words for the person submitting (no URLs)."""
    if isinstance(error, Unreachable):
        return "arXiv cannot be reached from this server right now. Try again later."
    if isinstance(error, ArxivError) and error.status is not None:
        return f"arXiv answered with an error (HTTP {error.status}). Try again later."
    return "arXiv is busy or did not answer in time. Try again in a few minutes."


def submit_manual(
    engine: Engine, user: User, title: str, abstract: str, authors: str | list[str], url: str = ""
) -> Submitted:
    """A paper typed in by hand: title and abstract required, authors and a link optional."""
    names = authors if isinstance(authors, list) else _split_authors(authors)
    title, abstract, url = title.strip(), abstract.strip(), url.strip()
    if not title:
        raise SubmitError("Give the paper's title.")
    if not abstract:
        raise SubmitError("Give the paper's abstract.")
    arxiv_id: str | None = None
    links: list[Link] = []
    if url:
        if len(url) > MAX_URL_CHARS or not url.lower().startswith(("http://", "https://")):
            raise SubmitError("The link must be an http:// or https:// address.")
        try:
            arxiv_id = str(parse_arxiv_id(url))
        except InvalidPaperId:
            links.append(Link("abs", url))
    record = PaperRecord(
        title=title, abstract=abstract, id=arxiv_id, authors=names, links=links, location="form"
    )
    now = datetime.now(UTC)
    _precheck_limit(engine, user, now)
    return _store(engine, user, record, "manual", now)


def _split_authors(text: str) -> list[str]:
    separator = "\n" if "\n" in text else ","
    return [name.strip() for name in text.split(separator) if name.strip()]


def _existing_pk(conn: Connection, item: Prepared) -> int | None:
    """The stored paper this record would land on: same id, or (title-only on either side)
    the first paper stored with the same title."""
    pk = conn.execute(select(papers.c.pk).where(papers.c.id == item.id)).scalar()
    if pk is not None:
        return int(pk)
    query = select(papers.c.pk, papers.c.id).where(papers.c.title_key == item.title_key)
    for row in conn.execute(query.order_by(papers.c.pk)):
        if item.synthetic or is_synthetic(row.id):
            return int(row.pk)
    return None


def _stored_paper(engine: Engine, arxiv_id: str) -> Submitted | None:
    """The paper stored under ``arxiv_id``'s base id, whatever version it names (a stored paper
    is the same work in every version); None when arXiv has to be asked."""
    base = parse_arxiv_id(arxiv_id).base
    query = select(papers.c.pk, papers.c.id, papers.c.hidden_at).where(papers.c.id == base)
    with engine.connect() as conn:
        row = conn.execute(query).first()
    return None if row is None else Submitted(row.id, row.pk, False, row.hidden_at is not None)


def _record_submission(conn: Connection, user: User, pk: int, source: str, now: datetime) -> None:
    if is_new_account(user, now):
        try:
            record_attempt(conn, RATE_KIND, f"user:{user.pk}", NEW_ACCOUNT_DAILY_LIMIT, DAY, now)
        except RateLimited as limited:
            raise SubmitRateLimited(limited.retry_after) from None
    conn.execute(
        insert(submissions).values(paper_pk=pk, user_pk=user.pk, source=source, created_at=now)
    )


def _store(
    engine: Engine, user: User, record: PaperRecord, source: str, now: datetime
) -> Submitted:
    record.upvotes = None  # never touch imported upvote counts
    with write_transaction(engine) as conn:
        record.featured_day = None
        record.submitter = None
        probe = prepare(PaperRecord(title=record.title, abstract=record.abstract, id=record.id))
        if isinstance(probe, RecordError):
            raise SubmitError(f"This paper cannot be stored: {probe.reason}.")
        existing = _existing_pk(conn, probe)
        if existing is None:
            # A new paper is featured on the day it was submitted, under its submitter's name.
            record.featured_day = now.date()
            record.submitter = user.username
        prepared = prepare(record)
        if isinstance(prepared, RecordError):
            raise SubmitError(f"This paper cannot be stored: {prepared.reason}.")
        upsert_batch(conn, [prepared])
        pk = _existing_pk(conn, prepared)
        if pk is None:  # upsert_batch always stores or finds the paper
            raise SubmitError("The paper could not be stored.")
        row = conn.execute(select(papers.c.id, papers.c.hidden_at).where(papers.c.pk == pk)).one()
        if existing is None:  # a paper already here is not credited to whoever sends it again
            _record_submission(conn, user, pk, source, now)
    return Submitted(row.id, pk, existing is None, row.hidden_at is not None)
