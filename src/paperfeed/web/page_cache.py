"""One cache for the anonymous pages and every feed, with one invalidation rule.

``PageCache`` (ASGI middleware, the innermost layer) keeps the answer to an anonymous ``GET`` of
a cacheable path (:data:`CACHEABLE`: day, week, month, home, trending, paper and author pages,
feeds) in memory under the database's page generation (``store.page_generation``): any write that
changes what a page shows (vote, comment, ingest, hiding, moderation, a trending recompute)
moves the generation, by trigger, in every process at once, and every kept page is then stale.
Each request reads the generation (one primary-key read), never the page's own queries.

A request with a session cookie or an API token is never served from the cache nor stored: a
signed-in user sees their own vote at once. Answers to those, and to anonymous requests, carry
an ``ETag``; a matching ``If-None-Match`` gets a 304 without a body. ``X-Page-Cache`` says
``hit``, ``miss`` (rendered and kept) or ``bypass`` (rendered for this request only).

``HEAD`` is answered for every ``GET`` route, cached or not: the route runs as a ``GET`` and
the body is dropped (FastAPI routes answer only the methods they declare).
"""

from __future__ import annotations

import hashlib
import logging
import re
import time
from collections import OrderedDict
from dataclasses import dataclass

from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError
from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from paperfeed.store.page_generation import current
from paperfeed.web.auth_deps import SESSION_COOKIE

log = logging.getLogger(__name__)

CACHEABLE = re.compile(r"^/(?:$|date/|week/|month/|trending$|papers/|feeds/|authors/)")
MAX_ENTRIES = 4096
MAX_BYTES = 64 * 1024 * 1024
# Anonymous pages: a browser may keep them but must ask again (a cheap 304) before reuse.
PAGE_CACHE_CONTROL = "no-cache"
VARY = "Cookie, Authorization"


@dataclass(frozen=True, slots=True)
class Entry:
    generation: int
    stored_at: float
    status: int
    headers: list[tuple[bytes, bytes]]
    body: bytes
    etag: bytes


class PageStore:
    """Kept pages by path and query, least recently used dropped first (within the caps)."""

    def __init__(self, max_entries: int = MAX_ENTRIES, max_bytes: int = MAX_BYTES) -> None:
        self._entries: OrderedDict[str, Entry] = OrderedDict()
        self._bytes = 0
        self.max_entries, self.max_bytes = max_entries, max_bytes

    def get(self, key: str, generation: int, max_age: float) -> Entry | None:
        entry = self._entries.get(key)
        if entry is None:
            return None
        if entry.generation != generation or time.monotonic() - entry.stored_at > max_age:
            self._drop(key)
            return None
        self._entries.move_to_end(key)
        return entry

    def put(self, key: str, entry: Entry) -> None:
        if len(entry.body) > self.max_bytes // 16:  # one huge page must not empty the cache
            return
        self._drop(key)
        self._entries[key] = entry
        self._bytes += len(entry.body)
        while len(self._entries) > self.max_entries or self._bytes > self.max_bytes:
            self._drop(next(iter(self._entries)))

    def _drop(self, key: str) -> None:
        entry = self._entries.pop(key, None)
        if entry is not None:
            self._bytes -= len(entry.body)

    def __len__(self) -> int:
        return len(self._entries)


class PageCache:
    """ASGI middleware: see the module docstring."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.store = PageStore()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] not in ("GET", "HEAD"):
            await self.app(scope, receive, send)
            return
        if scope["method"] == "HEAD":
            scope = {**scope, "method": "GET"}
            send = _without_body(send)
        if not CACHEABLE.match(scope["path"]):
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        generation = self._generation(scope, headers)
        key = f"{scope['path']}?{scope['query_string'].decode('latin-1')}"
        max_age = float(scope["app"].state.settings.page_cache_seconds)
        entry = self.store.get(key, generation, max_age) if generation is not None else None
        state = b"hit"
        if entry is None:
            entry = await _render(self.app, scope, receive, generation)
            state = b"miss" if generation is not None else b"bypass"
            if generation is not None and _keepable(entry):
                self.store.put(key, entry)
        await _answer(entry, headers, send, state)

    def _generation(self, scope: Scope, headers: Headers) -> int | None:
        """The page generation if this request may be served from the cache, else None."""
        settings = scope["app"].state.settings
        if settings.page_cache_seconds <= 0 or _signed_in(headers):
            return None
        if settings.count_views and _counts_view(scope["path"], headers):
            return None  # the paper page must run to count the view
        engine: Engine = scope["app"].state.engine
        try:
            # Synchronous on the event loop, on purpose: one primary-key read (~50 µs on
            # SQLite) costs less than a hop to the thread pool and back.
            with engine.connect() as conn:
                return current(conn)
        except SQLAlchemyError as error:  # not migrated yet, or the database is down: no cache
            log.debug("page cache bypassed: %s", error)
            return None


def _signed_in(headers: Headers) -> bool:
    return "authorization" in headers or SESSION_COOKIE in headers.get("cookie", "")


def _counts_view(path: str, headers: Headers) -> bool:
    """Whether ``paper_page`` would count this request as a view (a browser's navigation)."""
    return (
        path.startswith("/papers/")
        and headers.get("sec-fetch-mode") == "navigate"
        and headers.get("sec-fetch-dest") == "document"
    )


def _keepable(entry: Entry) -> bool:
    # A Set-Cookie is meant for one browser; other statuses are rare enough to render again.
    return entry.status == 200 and not any(name == b"set-cookie" for name, _ in entry.headers)


async def _render(app: ASGIApp, scope: Scope, receive: Receive, generation: int | None) -> Entry:
    """Run the route and keep its whole answer (pages and feeds are single-part bodies)."""
    start: Message = {}
    chunks: list[bytes] = []

    async def keep(message: Message) -> None:
        nonlocal start
        if message["type"] == "http.response.start":
            start = message
        elif message["type"] == "http.response.body":
            chunks.append(message.get("body", b""))

    await app(scope, receive, keep)
    body = b"".join(chunks)
    etag = b'"' + hashlib.blake2b(body, digest_size=12).hexdigest().encode() + b'"'
    headers = [
        (name, value) for name, value in start.get("headers", []) if name != b"content-length"
    ]
    return Entry(generation or 0, time.monotonic(), start["status"], headers, body, etag)


async def _answer(entry: Entry, request: Headers, send: Send, state: bytes) -> None:
    # X-Page-Cache (hit, miss, bypass) tells operators and tests what happened, as Varnish's
    # X-Cache does.
    headers = [*entry.headers, (b"x-page-cache", state)]
    status, body = entry.status, entry.body
    if status == 200:
        names = {name for name, _ in headers}
        headers.append((b"etag", entry.etag))
        headers.append((b"vary", VARY.encode()))
        if b"cache-control" not in names:
            headers.append((b"cache-control", PAGE_CACHE_CONTROL.encode()))
        if _matches(request.get("if-none-match"), entry.etag):
            status, body = 304, b""
            headers = [(n, v) for n, v in headers if n not in (b"content-type",)]
    if status != 304:
        headers.append((b"content-length", str(len(body)).encode()))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


def _matches(if_none_match: str | None, etag: bytes) -> bool:
    if not if_none_match:
        return False
    wanted = etag.decode()
    tags = [tag.strip().removeprefix("W/") for tag in if_none_match.split(",")]
    return "*" in tags or wanted in tags


def _without_body(send: Send) -> Send:
    """``send`` for a HEAD request: the GET's status and headers, no body."""

    async def head_send(message: Message) -> None:
        if message["type"] == "http.response.body":
            message = {**message, "body": b""}
        await send(message)

    return head_send
