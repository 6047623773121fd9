"""The MCP server at ``/mcp``: Streamable HTTP, the official ``mcp`` SDK (``MCPServer``).

Stateless and JSON-answering (``stateless_http``, ``json_response``): each POST is one
complete exchange, so any number of ``serve`` workers can answer an agent without sticky
sessions, and the site's own middleware (allowed hosts, cross-site guard, body limits,
security headers) wraps it like every other route. Every tool is read-only and needs no token.

The SDK's session manager needs a task group for its whole life: ``mount_mcp`` starts a fresh
one in each lifespan of the app (a manager runs only once, and tests start an app many times).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Annotated, Any, TypeVar

import anyio.to_thread
from fastapi import FastAPI
from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from mcp.server.transport_security import TransportSecuritySettings
from mcp.types import ToolAnnotations
from pydantic import Field
from starlette.responses import JSONResponse
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send

from paperfeed import __version__
from paperfeed.web.mcp import tools

T = TypeVar("T")
READ_ONLY = ToolAnnotations(read_only_hint=True, open_world_hint=False)
INSTRUCTIONS = (
    "paperfeed is a research-paper discovery site. search_papers finds papers (hybrid keyword "
    'and semantic search; field syntax author:, cat:, title:, "phrases", -exclude); '
    "get_paper reads one as Markdown with its discussion; daily_papers lists a day, week or "
    "month; trending ranks by recent community activity; similar_papers finds neighbours."
)
PATH = "/mcp"
Limit = Annotated[int, Field(ge=1, le=tools.MAX_LIMIT, description="How many papers.")]


async def _run(call: Callable[[], T]) -> T:
    """A service call in a worker thread (they block on the database), its input errors
    turned into tool errors that the agent reads."""
    try:
        return await anyio.to_thread.run_sync(call)
    except tools.ToolInputError as error:
        raise ToolError(str(error)) from None


def build_server(app: FastAPI) -> MCPServer:
    """The MCP server with paperfeed's five tools, over ``app``'s engine and retriever."""
    # The SDK configures Python's root logger at the level given (its default, INFO, would
    # print a line per session start): paperfeed's logs stay quiet by default.
    server: MCPServer = MCPServer(
        name="paperfeed", version=__version__, instructions=INSTRUCTIONS, log_level="WARNING"
    )

    @server.tool(annotations=READ_ONLY)
    async def search_papers(query: str, limit: Limit = 10) -> list[tools.SearchHit]:
        """Search papers by keywords, a question, an arXiv id or an author's name."""
        return await _run(lambda: tools.search_papers(app, query, limit))

    @server.tool(annotations=READ_ONLY)
    async def get_paper(id: str) -> str:
        """One paper as Markdown: title, authors, dates, links, abstract and discussion."""
        return await _run(lambda: tools.get_paper(app, id))

    @server.tool(annotations=READ_ONLY)
    async def daily_papers(
        date: Annotated[str, Field(description="YYYY-MM-DD, YYYY-Www (ISO week) or YYYY-MM.")],
        limit: Limit = 20,
    ) -> list[tools.PaperSummary]:
        """The papers featured on a day, in a week or in a month, most upvoted first."""
        return await _run(lambda: tools.daily_papers(app, date, limit))

    @server.tool(annotations=READ_ONLY)
    async def similar_papers(id: str, limit: Limit = 10) -> list[tools.SimilarPaper]:
        """Papers nearest in meaning to the paper ``id`` (by abstract embeddings)."""
        return await _run(lambda: tools.similar(app, id, limit))

    @server.tool(annotations=READ_ONLY)
    async def trending(limit: Limit = 10) -> list[tools.TrendingPaper]:
        """Papers ranked by recent community activity (upvotes, comments, views, stars)."""
        return await _run(lambda: tools.trending(app, limit))

    return server


class McpEndpoint:
    """ASGI app mounted at ``/mcp``: the SDK's Streamable HTTP app of the current lifespan."""

    def __init__(self, server: MCPServer) -> None:
        self.server = server
        self.current: ASGIApp | None = None

    @asynccontextmanager
    async def running(self) -> AsyncIterator[None]:
        # The site's AllowedHosts and CrossSiteGuard already check hosts and origins.
        security = TransportSecuritySettings(enable_dns_rebinding_protection=False)
        starlette_app = self.server.streamable_http_app(
            streamable_http_path=PATH,
            stateless_http=True,
            json_response=True,
            transport_security=security,
        )
        async with starlette_app.router.lifespan_context(starlette_app):
            self.current = starlette_app
            try:
                yield
            finally:
                self.current = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self.current is None:
            message = {"status": "error", "detail": "The MCP server is not running."}
            await JSONResponse(message, status_code=503)(scope, receive, send)
            return
        await self.current(scope, receive, send)


def mount_mcp(app: FastAPI) -> None:
    """Serve the MCP server at ``/mcp`` and run it within the app's lifespan."""
    endpoint = McpEndpoint(build_server(app))
    # A route, not a mount: a mount would answer /mcp with a redirect to /mcp/, which some
    # clients do not follow for a POST. POST only: stateless, the server offers no GET event
    # stream (the spec's 405) and has no session to DELETE.
    app.router.routes.append(Route(PATH, endpoint, methods=["POST"], include_in_schema=False))
    outer = app.router.lifespan_context

    @asynccontextmanager
    async def lifespan(started: Any) -> AsyncIterator[Any]:
        async with outer(started) as state, endpoint.running():
            yield state

    app.router.lifespan_context = lifespan
