"""The FastAPI app factory: `uvicorn --factory paperfeed.web.app:create_app` (what serve runs)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from sqlalchemy.exc import OperationalError
from starlette.exceptions import HTTPException

from paperfeed import __version__, services
from paperfeed.community.views import ViewCounter
from paperfeed.config import Settings, get_settings
from paperfeed.web import (
    admin_pages,
    api,
    auth_pages,
    author_pages,
    community_api,
    community_routes,
    docs_page,
    feed_pages,
    feeds,
    for_you_pages,
    hf_api,
    library_api,
    library_export,
    links_routes,
    mail_routes,
    openapi,
    paper_page,
    routes,
    search_page,
)
from paperfeed.web.csrf import AllowedHosts, CrossSiteGuard
from paperfeed.web.mcp.server import mount_mcp
from paperfeed.web.page_cache import PageCache
from paperfeed.web.request_guards import BodySizeLimit, NulBytes, UnusableBodies
from paperfeed.web.security import PrivateWhenSignedIn, SecurityHeaders
from paperfeed.web.templating import STATIC_DIR, make_templates, render_page

log = logging.getLogger(__name__)

NOT_MIGRATED = "The database is not set up for this version of paperfeed yet."
MIGRATE_COMMAND = "paperfeed db upgrade"
UNAVAILABLE = "The database is not answering right now. Please try again in a moment."


@asynccontextmanager
async def flushing_views(app: FastAPI) -> AsyncIterator[None]:
    """Write counted views every VIEW_FLUSH_SECONDS while serving, and what is left at exit."""
    counter: ViewCounter = app.state.view_counter

    async def every_few_seconds() -> None:
        while True:
            await asyncio.sleep(app.state.settings.view_flush_seconds)
            await run_in_threadpool(counter.flush)

    timer = asyncio.create_task(every_few_seconds())
    try:
        yield
    finally:
        timer.cancel()
        await run_in_threadpool(counter.flush)


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()
    # /docs is our own page (docs_page.py): FastAPI's loads Swagger UI from a CDN.
    app = FastAPI(
        title="paperfeed",
        version=__version__,
        docs_url=None,
        redoc_url=None,
        generate_unique_id_function=openapi.operation_id,
        lifespan=flushing_views,
    )
    app.state.settings = settings
    app.state.engine = services.get_engine(settings)
    app.state.view_counter = ViewCounter(
        app.state.engine, batch=settings.view_flush_batch, seconds=settings.view_flush_seconds
    )
    app.state.schema_ready = False
    app.state.templates = make_templates()
    app.state.retriever = None  # made on the first search (deps.dense_retriever)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    # Community routes first: their /api/papers/{id}/comments and /papers/{id}/upvote must
    # match before the catch-all {paper_id:path} routes of the paper pages and API.
    app.include_router(community_routes.router)
    app.include_router(community_api.router)
    app.include_router(admin_pages.router)
    app.include_router(routes.router)
    app.include_router(search_page.router)
    app.include_router(api.router)
    app.include_router(docs_page.router)
    app.include_router(for_you_pages.router)
    app.include_router(for_you_pages.pages)
    app.include_router(library_export.router)
    app.include_router(library_api.router)
    app.include_router(auth_pages.router)
    app.include_router(feed_pages.router)
    app.include_router(author_pages.router)
    app.include_router(author_pages.api_router)
    app.include_router(feeds.router)
    # Last: their `{paper_id:path}` routes would swallow /papers/<id>/... and /api/papers/....
    app.include_router(hf_api.router)
    app.include_router(links_routes.router)
    app.include_router(paper_page.router)
    app.include_router(mail_routes.router)
    app.include_router(mail_routes.one_click)
    app.include_router(mail_routes.api_router)
    mount_mcp(app)  # /mcp: the MCP server (Streamable HTTP), within the app's lifespan
    app.add_exception_handler(services.DatabaseNotReady, _not_migrated)
    app.add_exception_handler(OperationalError, _unavailable)
    app.add_exception_handler(HTTPException, _http_error)
    app.add_exception_handler(RequestValidationError, _invalid_request)
    _document_api_routes_only(app)
    # Innermost: every guard and header below runs on a cached answer as on a fresh one.
    app.add_middleware(PageCache)
    app.add_middleware(CrossSiteGuard)
    app.add_middleware(UnusableBodies)  # inside BodySizeLimit: it reads bodies already capped
    app.add_middleware(BodySizeLimit)
    app.add_middleware(NulBytes)
    app.add_middleware(AllowedHosts)
    app.add_middleware(PrivateWhenSignedIn)
    app.add_middleware(SecurityHeaders)
    return app


def _document_api_routes_only(app: FastAPI) -> None:
    """OpenAPI (/docs, schemathesis) describes the JSON API, not the HTML pages and forms."""
    full_schema = app.openapi

    def api_schema() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = full_schema()
            schema["paths"] = {p: ops for p, ops in schema["paths"].items() if _is_api_path(p)}
            app.openapi_schema = openapi.polish(schema)
        return app.openapi_schema

    app.openapi = api_schema  # type: ignore[method-assign]


def _is_api_path(path: str) -> bool:
    return path.startswith("/api/") or path == "/healthz" or path.endswith(".md")


def _wants_json(request: Request) -> bool:
    path = request.url.path
    return path.startswith("/api/") or path == "/healthz"


def error_response(
    request: Request, status: int, title: str, message: str, command: str | None = None
) -> Response:
    """The same error as a JSON object for API clients, or as a page for people."""
    if _wants_json(request):
        detail = f"{message} Run `{command}`." if command else message
        return JSONResponse({"status": "error", "detail": detail}, status_code=status)
    context = {"title": title, "message": message, "command": command}
    return render_page(request, "error.html", context, status)


async def _not_migrated(request: Request, error: Exception) -> Response:
    # The full reason names the database location: for the operator's log, not for visitors.
    log.error("%s", error)
    return error_response(request, 503, "Database not set up", NOT_MIGRATED, MIGRATE_COMMAND)


async def _unavailable(request: Request, error: Exception) -> Response:
    log.error("database error: %s", error)
    return error_response(request, 503, "Database unavailable", UNAVAILABLE)


async def _http_error(request: Request, error: Exception) -> Response:
    assert isinstance(error, HTTPException)
    # A bare 404 (no route) gets the friendly text; a route's own 404 keeps its reason.
    bare = error.status_code == 404 and error.detail == "Not Found"
    message = "There is no page at this address." if bare else error.detail
    response = error_response(request, error.status_code, f"Error {error.status_code}", message)
    if error.headers:
        response.headers.update(error.headers)
    return response


async def _invalid_request(request: Request, error: Exception) -> Response:
    # API clients get FastAPI's 422 with the field errors; people get a page, not JSON.
    assert isinstance(error, RequestValidationError)
    if _wants_json(request):
        return JSONResponse({"detail": field_errors(error)}, status_code=422)
    message = "This address has a parameter the site cannot use. Try the search box again."
    return error_response(request, 422, "Invalid request", message)


def field_errors(error: RequestValidationError) -> list[dict[str, Any]]:
    """FastAPI's field errors without the ``input`` and ``ctx`` it would echo back.

    Echoed input is how a hostile value (a lone surrogate, a NaN) turned a 422 into a 500, and
    the client knows what it sent; ``loc`` (which may hold the client's own keys) and ``msg``
    are kept only where they are plain printable text.
    """
    return [
        {
            "type": _plain(str(problem.get("type", "")), "invalid"),
            "loc": [
                part if isinstance(part, int) else _plain(str(part), "?") for part in problem["loc"]
            ],
            "msg": _plain(str(problem.get("msg", "")), "Invalid value."),
        }
        for problem in error.errors()
    ]


def _plain(text: str, instead: str) -> str:
    return text if len(text) <= 200 and text.isprintable() and text.isascii() else instead
