"""Page routes. Each reads through ``paperfeed.services`` / ``queries`` and renders a template."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, JSONResponse

from paperfeed.web import queries
from paperfeed.web.deps import EngineDep

# The home page shows this many recent days, with each day's top papers.
HOME_DAYS = 30
HOME_PAPERS_PER_DAY = 5

router = APIRouter()


@router.get("/", response_class=HTMLResponse)
def home(request: Request, engine: EngineDep) -> HTMLResponse:
    days = queries.latest_days(engine, HOME_DAYS, HOME_PAPERS_PER_DAY)
    context = {"days": days, "total": queries.paper_count(engine)}
    return request.app.state.templates.TemplateResponse(request, "home.html", context)


@router.get("/healthz")
def healthz(engine: EngineDep) -> JSONResponse:
    """Liveness and readiness: 200 once the database answers at the current schema."""
    return JSONResponse({"status": "ok", "papers": queries.paper_count(engine)})
