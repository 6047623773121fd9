"""The NEW badge: papers that arrived since the visitor's last visit, not every recent paper.

A small cookie (``pf_visit``: two Unix times, no identity) remembers when this browser last
loaded a page. A visit ends after ``VISIT_GAP`` without pages; the next one marks as new the
papers first seen here after the end of the one before. A browser without the cookie (a first
visit, a crawler) sees NEW on the newest day's papers only. The cookie is set on successful GET
pages only, and it never reaches the database.
"""

from __future__ import annotations

import time
from datetime import UTC, date, datetime
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

VISIT_COOKIE = "pf_visit"
VISIT_GAP = 3600  # seconds without a page that end a visit
KEEP_FOR = 400 * 86_400  # a browser's maximum for cookie lifetimes


def _parse(value: str) -> tuple[int, int] | None:
    since, _, last = value.partition(":")
    if not (since.isdigit() and last.isdigit()) or len(since) > 12 or len(last) > 12:
        return None
    return int(since), int(last)


def new_since(request: Request, now: float | None = None) -> datetime | None:
    """Papers first seen after this are new to the visitor; None: no earlier visit known."""
    if "new_since" not in request.state._state:
        request.state.new_since = _since(request, now or time.time())
    found: datetime | None = request.state.new_since
    return found


def _since(request: Request, now: float) -> datetime | None:
    stored = _parse(request.cookies.get(VISIT_COOKIE, ""))
    if stored is None:
        return None
    since, last = stored
    moment = last if now - last > VISIT_GAP else since  # a new visit starts after the gap
    return datetime.fromtimestamp(moment, UTC) if moment else None


def remember_visit(request: Request, response: Response, now: float | None = None) -> None:
    """Keep this visit's threshold and the time of this page in the cookie (GET pages only)."""
    if request.method != "GET" or response.status_code != 200:
        return
    now = now or time.time()
    since = new_since(request, now)
    value = f"{int(since.timestamp()) if since else 0}:{int(now)}"
    secure = request.url.scheme == "https"
    response.set_cookie(
        VISIT_COOKIE, value, max_age=KEEP_FOR, httponly=True, samesite="lax", secure=secure
    )


def is_new(request: Request, item: Any) -> bool:
    """Whether a listed paper (``queries.ListedPaper``) gets the NEW badge for this visitor."""
    since = new_since(request)
    if since is None:
        return item.day is not None and item.day == _newest_day(request)
    seen = item.paper.first_seen_at
    if seen is None:
        return False
    if seen.tzinfo is None:
        seen = seen.replace(tzinfo=UTC)
    return bool(seen > since)


def _newest_day(request: Request) -> date | None:
    if "newest_day" not in request.state._state:
        from paperfeed.web.queries import latest_day

        request.state.newest_day = latest_day(request.app.state.engine)
    day: date | None = request.state.newest_day
    return day
