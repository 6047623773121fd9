"""List pages: ``/date/YYYY-MM-DD``, ``/week/YYYY-Www``, ``/month/YYYY-MM`` and ``/trending``.

Each reads one page of papers through ``queries`` and renders ``day.html`` or ``trending.html``
(both through ``_paper.html``, which includes the community's ``_vote.html``).
"""

from __future__ import annotations

import re
from calendar import monthrange
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Annotated

from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import Engine

from paperfeed.community.votes import voted_paper_pks
from paperfeed.web import queries
from paperfeed.web.deps import EngineDep
from paperfeed.web.templating import long_day, render_page, viewer

PER_PAGE = 50
TRENDING_PER_PAGE = 30
MAX_PAGE = 1000
PAGE_WINDOW = 2

router = APIRouter()

_DAY_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_WEEK_RE = re.compile(r"^(\d{4})-W(\d{2})$")
# ISO 8601 writes weeks with two digits; people type "2026-W1" for "2026-W01".
_SHORT_WEEK_RE = re.compile(r"^(\d{4})-W([1-9])$")
_MONTH_RE = re.compile(r"^(\d{4})-(\d{2})$")

PageQuery = Annotated[int, Query(ge=1, le=MAX_PAGE, description="Page number, from 1.")]


def mark_voted(request: Request, engine: Engine, items: list[queries.ListedPaper]) -> None:
    """Set ``voted`` on each item the signed-in viewer has upvoted (one query)."""
    user = viewer(request)
    if user is None or not items:
        return
    voted = voted_paper_pks(engine, user.pk, [item.pk for item in items])
    for item in items:
        item.voted = item.pk in voted


def parse_day(text: str) -> date:
    if _DAY_RE.match(text):
        try:
            return date.fromisoformat(text)
        except ValueError:
            pass
    raise HTTPException(404, f"“{text}” is not a day. Days look like 2026-05-04 (YYYY-MM-DD).")


def parse_week(text: str) -> tuple[date, date]:
    """Monday and Sunday of the ISO week ``YYYY-Www``."""
    if match := _WEEK_RE.match(text):
        try:
            monday = date.fromisocalendar(int(match[1]), int(match[2]), 1)
            return monday, monday + timedelta(days=6)
        except (ValueError, OverflowError):
            pass
    raise HTTPException(404, f"“{text}” is not a week. Weeks look like 2026-W19 (ISO YYYY-Www).")


def parse_month(text: str) -> tuple[date, date]:
    """First and last day of the month ``YYYY-MM``."""
    if match := _MONTH_RE.match(text):
        year, month = int(match[1]), int(match[2])
        if 1 <= year <= 9999 and 1 <= month <= 12:
            return date(year, month, 1), date(year, month, monthrange(year, month)[1])
    raise HTTPException(404, f"“{text}” is not a month. Months look like 2026-05 (YYYY-MM).")


def shift(day: date, days: int) -> date | None:
    """``day`` moved by ``days``, or None past the calendar's ends (year 1 and 9999)."""
    try:
        return day + timedelta(days=days)
    except OverflowError:
        return None


def week_name(day: date) -> str:
    year, week, _ = day.isocalendar()
    return f"{year}-W{week:02d}"


@dataclass(frozen=True, slots=True)
class PageLink:
    number: int
    url: str
    current: bool


@dataclass(frozen=True, slots=True)
class Pager:
    """Links to the pages of a long list."""

    path: str
    page: int
    pages: int

    def url(self, page: int) -> str | None:
        if not 1 <= page <= self.pages:
            return None
        return self.path if page == 1 else f"{self.path}?page={page}"

    @property
    def links(self) -> list[PageLink]:
        low, high = max(1, self.page - PAGE_WINDOW), min(self.pages, self.page + PAGE_WINDOW)
        return [PageLink(n, self.url(n) or "", n == self.page) for n in range(low, high + 1)]


def _list_page(
    request: Request,
    engine: EngineDep,
    found: queries.PaperList,
    *,
    title: str,
    heading: str,
    kind: str,
    time_value: str,
    prev: tuple[str, str] | None,
    next_: tuple[str, str] | None,
    up: list[tuple[str, str]],
) -> HTMLResponse:
    if found.page > found.pages:
        raise HTTPException(
            404, f"This list has {found.pages} page(s); there is no page {found.page}."
        )
    mark_voted(request, engine, found.items)
    context = {
        "title": title,
        "heading": heading,
        "kind": kind,
        "time_value": time_value,
        "found": found,
        "pager": Pager(request.url.path, found.page, found.pages),
        "prev": prev,
        "next": next_,
        "up": up,
        "feed": "daily",
    }
    return render_page(request, "day.html", context)


@router.get("/date/{day}", response_class=HTMLResponse)
def day_page(request: Request, engine: EngineDep, day: str, page: PageQuery = 1) -> HTMLResponse:
    """The papers of one day, most upvoted first, with the previous and next days that have
    papers."""
    when = parse_day(day)
    found = queries.day_papers(engine, when, page, PER_PAGE)
    before, after = queries.neighbour_days(engine, when)
    return _list_page(
        request,
        engine,
        found,
        title=f"Papers of {when.isoformat()}",
        heading=long_day(when),
        kind="day",
        time_value=when.isoformat(),
        prev=(f"/date/{before.isoformat()}", long_day(before)) if before else None,
        next_=(f"/date/{after.isoformat()}", long_day(after)) if after else None,
        up=[
            (f"/week/{week_name(when)}", f"Week {week_name(when)}"),
            (f"/month/{when:%Y-%m}", f"{when:%B %Y}"),
        ],
    )


@router.get("/week/{week}", response_class=HTMLResponse)
def week_page(request: Request, engine: EngineDep, week: str, page: PageQuery = 1) -> Response:
    """The papers of one ISO week (Monday to Sunday), most upvoted first."""
    if match := _SHORT_WEEK_RE.match(week):
        # One address per week (links, caches, feeds): the short spelling moves for good.
        query = f"?{request.url.query}" if request.url.query else ""
        return RedirectResponse(f"/week/{match[1]}-W0{match[2]}{query}", status_code=301)
    first, last = parse_week(week)
    found = queries.range_papers(engine, first, last, page, PER_PAGE)
    before, after = shift(first, -7), shift(first, 7)
    return _list_page(
        request,
        engine,
        found,
        title=f"Papers of week {week}",
        heading=f"Week {week_name(first)}: {first:%-d %b} – {last:%-d %b %Y}",
        kind="week",
        time_value=week_name(first),
        prev=(f"/week/{week_name(before)}", f"Week {week_name(before)}") if before else None,
        next_=(f"/week/{week_name(after)}", f"Week {week_name(after)}") if after else None,
        up=[(f"/month/{first:%Y-%m}", f"{first:%B %Y}")],
    )


@router.get("/month/{month}", response_class=HTMLResponse)
def month_page(
    request: Request, engine: EngineDep, month: str, page: PageQuery = 1
) -> HTMLResponse:
    """The papers of one month, most upvoted first."""
    first, last = parse_month(month)
    found = queries.range_papers(engine, first, last, page, PER_PAGE)
    before, after = shift(first, -1), shift(last, 1)
    return _list_page(
        request,
        engine,
        found,
        title=f"Papers of {first:%B %Y}",
        heading=f"{first:%B %Y}",
        kind="month",
        time_value=f"{first:%Y-%m}",
        prev=(f"/month/{before:%Y-%m}", f"{before:%B %Y}") if before else None,
        next_=(f"/month/{after:%Y-%m}", f"{after:%B %Y}") if after else None,
        up=[],
    )


@router.get("/trending", response_class=HTMLResponse)
def trending(request: Request, engine: EngineDep, page: PageQuery = 1) -> HTMLResponse:
    """Papers by their trending score, each with the terms of its score."""
    found = queries.trending_page(engine, page, TRENDING_PER_PAGE)
    if found.page > found.pages:
        raise HTTPException(404, f"Trending has {found.pages} page(s); there is no page {page}.")
    mark_voted(request, engine, found.items)
    settings = request.app.state.settings
    context = {
        "found": found,
        "pager": Pager(request.url.path, found.page, found.pages),
        "half_life": settings.trending_half_life_hours,
        "window": settings.trending_window_days,
        "feed": "trending",
    }
    return render_page(request, "trending.html", context)
