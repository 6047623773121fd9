"""Page routes. Each reads through ``paperfeed.services`` / ``queries`` and renders a template."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, JSONResponse
from sqlalchemy import Engine

from paperfeed import services
from paperfeed.web import queries

# The home page shows this many recent days, with each day's top papers.
HOME_DAYS = 30
HOME_PAPERS_PER_DAY = 5

router = APIRouter()


def ready_engine(request: Request) -> Engine:
    """The app's engine, once its schema is current (else DatabaseNotReady, a 503 page)."""
    state = request.app.state
    if not state.schema_ready:
        # Checked per request until it passes, so `paperfeed db upgrade` needs no restart.
        services.require_current_schema(state.engine)
        state.schema_ready = True
    engine: Engine = state.engine
    return engine


EngineDep = Annotated[Engine, Depends(ready_engine)]


@router.get("/", response_class=HTMLResponse)
def home(request: Request, engine: EngineDep) -> HTMLResponse:
    days = queries.latest_days(engine, HOME_DAYS, HOME_PAPERS_PER_DAY)
    context = {"days": days, "total": queries.paper_count(engine)}
    return request.app.state.templates.TemplateResponse(request, "home.html", context)


@router.get("/healthz")
def healthz(engine: EngineDep) -> JSONResponse:
    """Liveness and readiness: 200 once the database answers at the current schema."""
    return JSONResponse({"status": "ok", "papers": queries.paper_count(engine)})
