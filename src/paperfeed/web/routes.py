"""Page routes: the health check. The home page and the lists by day, week, month and trending
are in ``feed_pages``; the paper page in ``paper_page``."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from paperfeed.web import queries
from paperfeed.web.deps import EngineDep

router = APIRouter()


@router.get("/healthz")
def healthz(engine: EngineDep) -> JSONResponse:
    """Liveness and readiness: 200 once the database answers at the current schema."""
    return JSONResponse({"status": "ok", "papers": queries.paper_count(engine)})
