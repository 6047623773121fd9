"""The Hugging Face-compatible papers API, and paperfeed's ``/api/trending``.

``GET /api/daily_papers`` and ``GET /api/papers/{id}`` answer in the shapes Hugging Face sends,
so ``huggingface_hub``'s ``HfApi(endpoint=...)`` ``list_daily_papers`` and ``paper_info`` work
against a paperfeed server (``list_papers`` is ``/api/papers/search`` in ``api.py``;
``read_paper`` is ``/papers/{id}.md`` in ``paper_page.py``). paperfeed's own fields sit beside
Hugging Face's (``categories``, ``doi``, ``url``, ``trending``).

This router is included after ``api.py``'s and the community API's, so their fixed suffixes
(``/api/papers/search``, ``/api/papers/{id}/similar``, ``/api/papers/{id}/comments``) match
before ``/api/papers/{id:path}``.
"""

from __future__ import annotations

from datetime import date as Date
from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel
from sqlalchemy import select

from paperfeed.community.paper_context import submitted_by
from paperfeed.store.community_schema import submissions, users
from paperfeed.web import queries
from paperfeed.web.api import hf_datetime
from paperfeed.web.deps import EngineDep
from paperfeed.web.feed_pages import parse_day, parse_month, parse_week
from paperfeed.web.paper_page import lookup

router = APIRouter(prefix="/api", tags=["papers"])

MAX_LIMIT = 100
MAX_PAGE = 1000


def _user(name: str | None) -> dict[str, Any] | None:
    """A submitter as Hugging Face describes a user (``huggingface_hub.User`` reads ``user``)."""
    if not name:
        return None
    return {"user": name, "name": name, "fullname": name, "avatarUrl": "", "type": "user"}


def _datetime(moment: datetime | None) -> str | None:
    if moment is None:
        return None
    return moment.strftime("%Y-%m-%dT%H:%M:%S.000Z")


def paper_object(item: queries.ListedPaper, base_url: str) -> dict[str, Any]:
    """The ``paper`` object of Hugging Face's answers, with paperfeed's fields."""
    paper = item.paper
    links = {link.kind: link for link in paper.links}
    code = links.get("code")
    project = links.get("project")
    return {
        "id": paper.id,
        "title": paper.title,
        "summary": paper.abstract,
        "authors": [{"name": name, "hidden": False} for name in paper.authors],
        "publishedAt": hf_datetime(paper.published),
        # When it went on the daily list (none for a paper never featured), as on the Hub.
        "submittedOnDailyAt": hf_datetime(paper.featured_day),
        "upvotes": item.upvotes,
        "numComments": item.comments,
        "githubRepo": code.url if code else None,
        "githubStars": code.stars if code else None,
        "projectPage": project.url if project else None,
        "categories": paper.categories,
        "doi": paper.doi,
        "url": f"{base_url.rstrip('/')}/papers/{paper.id}",
        "isNew": item.is_new,
        "trending": {"score": item.score, **item.terms},
    }


def daily_item(item: queries.ListedPaper, base_url: str, submitter: str | None) -> dict[str, Any]:
    """One entry of ``/api/daily_papers``: ``{paper: {...}, title, summary, publishedAt, ...}``."""
    paper = paper_object(item, base_url)
    user = _user(submitter)
    if user is not None:
        paper["submittedOnDailyBy"] = user
    entry: dict[str, Any] = {
        "paper": paper,
        "title": item.paper.title,
        "summary": item.paper.abstract,
        "publishedAt": hf_datetime(item.day),
        "numComments": item.comments,
        "isAuthorParticipating": False,
        # huggingface_hub's PaperInfo reads these at the top level, not in ``paper``.
        "upvotes": item.upvotes,
        "githubRepo": paper["githubRepo"],
        "githubStars": paper["githubStars"],
        "projectPage": paper["projectPage"],
    }
    if user is not None:
        entry["submittedBy"] = user
    return entry


# Patterns in the OpenAPI schema, so generated clients and fuzzers know the forms.
WEEK_PATTERN = (
    r"^([1-9][0-9]{3}|0[0-9]{2}[1-9]|0[0-9][1-9][0-9]|0[1-9][0-9]{2})-W(0[1-9]|[1-4][0-9]|5[0-3])$"
)
MONTH_PATTERN = r"^([1-9][0-9]{3}|0[0-9]{2}[1-9]|0[0-9][1-9][0-9]|0[1-9][0-9]{2})-(0[1-9]|1[0-2])$"


def _invalid(name: str, value: str, message: str) -> RequestValidationError:
    """A bad query parameter, in the shape of FastAPI's own 422 (what the schema documents)."""
    error = {"type": "value_error", "loc": ("query", name), "msg": message, "input": value}
    return RequestValidationError([error])


NO_SUCH_WEEK = (Date.max, Date.min)  # an empty range: no day is in it


def _bounds(day: str | None, week: str | None, month: str | None) -> tuple[Date, Date] | None:
    """The days asked for: ``date``, else ``week``, else ``month`` (the first one given)."""
    if day:
        try:
            when = parse_day(day)
        except HTTPException as error:
            raise _invalid("date", day, str(error.detail)) from None
        return when, when
    if week:
        try:
            return parse_week(week)
        except HTTPException:
            # The pattern admits W53 of a year that has only 52 weeks: no papers in it.
            return NO_SUCH_WEEK
    if month:
        return parse_month(month)  # the pattern admits real months only
    return None


@router.get("/daily_papers")
def daily_papers(
    request: Request,
    engine: EngineDep,
    day: Annotated[
        str | None,
        Query(
            alias="date",
            pattern=r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$",
            description="A day, YYYY-MM-DD.",
            examples=["2026-05-04"],
            json_schema_extra={"format": "date"},
        ),
    ] = None,
    week: Annotated[
        str | None,
        Query(
            pattern=WEEK_PATTERN,
            description="An ISO week, YYYY-Www (used when no date is given; W53 of a year "
            "with 52 weeks has no papers).",
            examples=["2026-W19"],
        ),
    ] = None,
    month: Annotated[
        str | None,
        Query(
            pattern=MONTH_PATTERN,
            description="A month, YYYY-MM (used when no date or week is given).",
            examples=["2026-05"],
        ),
    ] = None,
    submitter: Annotated[
        str | None, Query(max_length=255, description="Only papers this user submitted.")
    ] = None,
    sort: Annotated[
        Literal["publishedAt", "trending"],
        Query(
            description="publishedAt: newest day first, most upvoted first within a day; "
            "trending: by trending score."
        ),
    ] = "publishedAt",
    p: Annotated[int, Query(ge=0, le=MAX_PAGE, description="Page number, from 0.")] = 0,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT, description="Papers per page.")] = 50,
) -> list[dict[str, Any]]:
    """Daily papers as Hugging Face lists them (``HfApi.list_daily_papers``)."""
    bounds = _bounds(day, week, month)
    if submitter and not submitter.isprintable():
        return []  # no username holds control characters (and PostgreSQL refuses NUL)
    items = queries.daily_api_papers(
        engine,
        first=bounds[0] if bounds else None,
        last=bounds[1] if bounds else None,
        submitter=submitter.strip() if submitter else None,
        trending=sort == "trending",
        offset=p * limit,
        limit=limit,
    )
    base = request.app.state.settings.base_url
    names = _submitters(engine, items)
    return [daily_item(item, base, names.get(item.pk)) for item in items]


def _submitters(engine: EngineDep, items: list[queries.ListedPaper]) -> dict[int, str]:
    """Who submitted each paper: the first user of this site who did, else the submitter a
    source named (one read for the whole page)."""
    names: dict[int, str] = {}
    pks = [item.pk for item in items]
    if pks:
        query = (
            select(submissions.c.paper_pk, users.c.username)
            .join(users, users.c.pk == submissions.c.user_pk)
            .where(submissions.c.paper_pk.in_(pks))
            .order_by(submissions.c.created_at.desc(), submissions.c.pk.desc())
        )
        with engine.connect() as conn:
            # Newest first, so the first submission is the one left in the dict.
            names.update({row.paper_pk: row.username for row in conn.execute(query)})
    for item in items:
        if item.pk not in names and item.paper.submitter:
            names[item.pk] = item.paper.submitter
    return names


@router.get("/trending")
def trending(
    request: Request,
    engine: EngineDep,
    p: Annotated[int, Query(ge=0, le=1000, description="Page number, from 0.")] = 0,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT, description="Papers per page.")] = 30,
) -> list[dict[str, Any]]:
    """Papers by trending score, each with the terms of its score ("why it is trending").

    Each item: ``{rank, id, title, score, upvotes, numComments, url, terms: {upvotes, comments,
    views, stars, hf_upvotes: {count, points}}, half_life_hours, computed_at}``.
    """
    base = request.app.state.settings.base_url.rstrip("/")
    # trending_page counts pages from 1 and takes a page size: translate the offset.
    found = queries.trending_page(engine, p + 1, limit)
    return [
        {
            "rank": found.first + index,
            "id": item.paper.id,
            "title": item.paper.title,
            "score": item.score,
            "upvotes": item.upvotes,
            "numComments": item.comments,
            "url": f"{base}/papers/{item.paper.id}",
            **item.terms,
        }
        for index, item in enumerate(found.items)
    ]


class ErrorOut(BaseModel):
    status: str = "error"
    detail: str


@router.get(
    "/papers/{paper_id:path}",
    responses={404: {"model": ErrorOut, "description": "No such paper."}},
)
def paper_info(request: Request, engine: EngineDep, paper_id: str) -> dict[str, Any]:
    """One paper as Hugging Face's ``/api/papers/{id}`` answers it (``HfApi.paper_info``)."""
    try:
        ref = lookup(engine, paper_id)
    except HTTPException:
        raise HTTPException(404, f"No paper with id {paper_id[:200]!r}.") from None
    with engine.connect() as conn:
        submitter = submitted_by(conn, ref.pk)
    item = queries.paper_detail(engine, ref.pk)
    if item is None:
        raise HTTPException(404, f"No paper with id {paper_id[:200]!r}.")
    answer = paper_object(item, request.app.state.settings.base_url)
    user = _user(submitter or item.paper.submitter)
    if user is not None:
        answer["submittedOnDailyBy"] = user
    return answer
