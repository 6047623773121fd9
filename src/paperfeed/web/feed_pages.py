"""List pages: the home page ``/``, ``/date/YYYY-MM-DD``, ``/week/YYYY-Www``, ``/month/YYYY-MM``
and ``/trending``.

Each reads one page of papers through ``queries`` and renders ``home.html``, ``day.html`` or
``trending.html`` (all through ``_paper.html``, which includes the community's ``_vote.html``).
The home page is the newest day's first page: its best ``HOME_CARDS`` papers, a count, and
category chips that narrow the day (``?cat=``), as the day pages have.
"""

from __future__ import annotations

import re
from calendar import monthrange
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import Engine

from paperfeed.community.votes import voted_paper_pks
from paperfeed.web import queries
from paperfeed.web.deps import EngineDep
from paperfeed.web.templating import long_day, render_page, viewer

PER_PAGE = 50
# Read in a minute: the rest of the day is a click away (the day page's next pages).
HOME_CARDS = 50
CHIPS = 12
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
CategoryQuery = Annotated[
    str | None,
    Query(
        max_length=64,
        pattern=r"^[A-Za-z0-9][A-Za-z0-9.\-_]*$",
        description="Only the papers listed in this arXiv category (e.g. cs.CL).",
    ),
]


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
    # Other parameters the pages keep (``cat=cs.CL``), already URL-encoded.
    query: str = ""

    def url(self, page: int) -> str | None:
        if not 1 <= page <= self.pages:
            return None
        params = [self.query] if self.query else []
        if page > 1:
            params.append(f"page={page}")
        return f"{self.path}?{'&'.join(params)}" if params else self.path

    @property
    def links(self) -> list[PageLink]:
        low, high = max(1, self.page - PAGE_WINDOW), min(self.pages, self.page + PAGE_WINDOW)
        return [PageLink(n, self.url(n) or "", n == self.page) for n in range(low, high + 1)]


@dataclass(frozen=True, slots=True)
class Chip:
    """A category that narrows a day, with its count of papers that day."""

    label: str
    count: int | None
    url: str
    current: bool


def category_chips(engine: Engine, day: date, path: str, chosen: str | None) -> list[Chip]:
    """ "All", then the day's busiest categories; the chosen one is kept even if not among
    them (a shared link to a quiet category)."""
    counts: list[tuple[str, int | None]] = list(queries.day_categories(engine, day, CHIPS))
    if chosen is not None and chosen not in dict(counts):
        counts.append((chosen, None))  # its count is the page's own
    chips = [Chip("All", None, path, chosen is None)]
    for label, count in counts:
        url = f"{path}?{urlencode({'cat': label})}"
        chips.append(Chip(label, count, url, label == chosen))
    return chips


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
    **extra: Any,
) -> HTMLResponse:
    if found.page > found.pages:
        raise HTTPException(
            404, f"This list has {found.pages} page(s); there is no page {found.page}."
        )
    mark_voted(request, engine, found.items)
    category = extra.get("category")
    query = urlencode({"cat": category}) if category else ""
    context = {
        "title": title,
        "heading": heading,
        "kind": kind,
        "time_value": time_value,
        "found": found,
        "pager": Pager(request.url.path, found.page, found.pages, query),
        "prev": prev,
        "next": next_,
        "up": up,
        "feed": "daily",
        "chips": [],
        "category": None,
        **extra,
    }
    return render_page(request, "day.html", context)


def _day_links(when: date, before: date | None, after: date | None) -> dict[str, Any]:
    return {
        "prev": (f"/date/{before.isoformat()}", long_day(before)) if before else None,
        "next_": (f"/date/{after.isoformat()}", long_day(after)) if after else None,
        "up": [
            (f"/week/{week_name(when)}", f"Week {week_name(when)}"),
            (f"/month/{when:%Y-%m}", f"{when:%B %Y}"),
        ],
    }


@router.get("/", response_class=HTMLResponse)
def home(request: Request, engine: EngineDep, cat: CategoryQuery = None) -> HTMLResponse:
    """The newest day's best papers (votes, trending signal, then the listing's order), a count
    of the day, category chips, and the way to the rest of the day and the days before."""
    when = queries.latest_day(engine)
    if when is None:
        return render_page(request, "home.html", {"found": None, "feed": "daily"})
    found = queries.day_papers(engine, when, 1, HOME_CARDS, category=cat)
    mark_voted(request, engine, found.items)
    before, _ = queries.neighbour_days(engine, when)
    day_url = f"/date/{when.isoformat()}"
    context = {
        "found": found,
        "day": when,
        "category": cat,
        "chips": category_chips(engine, when, "/", cat),
        "rest_url": Pager(day_url, 1, found.pages, urlencode({"cat": cat}) if cat else "").url(2),
        "links": _day_links(when, before, None),
        "feed": "daily",
    }
    return render_page(request, "home.html", context)


@router.get("/date/{day}", response_class=HTMLResponse)
def day_page(
    request: Request,
    engine: EngineDep,
    day: str,
    page: PageQuery = 1,
    cat: CategoryQuery = None,
) -> HTMLResponse:
    """The papers of one day (of one category with ``cat``), most upvoted first, with the
    previous and next days that have papers."""
    when = parse_day(day)
    found = queries.day_papers(engine, when, page, PER_PAGE, category=cat)
    before, after = queries.neighbour_days(engine, when)
    return _list_page(
        request,
        engine,
        found,
        title=f"Papers of {when.isoformat()}" + (f" in {cat}" if cat else ""),
        heading=long_day(when),
        kind="day",
        time_value=when.isoformat(),
        **_day_links(when, before, after),
        chips=category_chips(engine, when, request.url.path, cat),
        category=cat,
    )


@router.get("/week", response_class=HTMLResponse)
def latest_week(engine: EngineDep) -> Response:
    """The week of the newest day (the header's "Week")."""
    when = queries.latest_day(engine) or _today()
    return _found(f"/week/{week_name(when)}")


@router.get("/month", response_class=HTMLResponse)
def latest_month(engine: EngineDep) -> Response:
    """The month of the newest day (the header's "Month")."""
    when = queries.latest_day(engine) or _today()
    return _found(f"/month/{when:%Y-%m}")


def _found(url: str) -> Response:
    """A 302 with a typed body (every answer names its content type, see security.py)."""
    body = f'<!doctype html><title>Moved</title><a href="{url}">{url}</a>'
    return HTMLResponse(body, status_code=302, headers={"location": url})


def _today() -> date:
    return datetime.now(UTC).date()


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
