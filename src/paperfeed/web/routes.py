"""Page routes: the home page and the health check. Lists by day, week, month and trending are
in ``feed_pages``; the paper page in ``paper_page``."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, JSONResponse

from paperfeed.web import queries
from paperfeed.web.deps import EngineDep
from paperfeed.web.feed_pages import mark_voted
from paperfeed.web.templating import render_page

# The home page shows this many recent days: all of the newest day's papers (up to
# HOME_FIRST_DAY), then each earlier day's top papers.
HOME_DAYS = 30
HOME_PAPERS_PER_DAY = 5
HOME_FIRST_DAY = 30

router = APIRouter()


@router.get("/", response_class=HTMLResponse)
def home(request: Request, engine: EngineDep) -> HTMLResponse:
    """The newest day with papers, in full, then the top papers of the days before it."""
    days = queries.latest_days(engine, HOME_DAYS, HOME_PAPERS_PER_DAY, HOME_FIRST_DAY)
    mark_voted(request, engine, [item for section in days for item in section.papers])
    context = {"days": days, "total": queries.paper_count(engine), "feed": "daily"}
    return render_page(request, "home.html", context)


@router.get("/healthz")
def healthz(engine: EngineDep) -> JSONResponse:
    """Liveness and readiness: 200 once the database answers at the current schema."""
    return JSONResponse({"status": "ok", "papers": queries.paper_count(engine)})
