"""Requests refused before any route runs: oversized bodies (413) and NUL bytes (400).

Forms and JSON here are small (a comment is at most 10,000 characters, a manual submission's
abstract 50,000); a larger body is refused whether it announces its size (Content-Length) or
streams it (chunked), so nobody can make a worker buffer megabytes.

A NUL byte in the address (``?tag=%00``) is never meaningful, and PostgreSQL cannot store or
compare one in text: refusing it here keeps every route, present and future, from a 500.
"""

from __future__ import annotations

from starlette.datastructures import Headers
from starlette.responses import PlainTextResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

MAX_BODY_BYTES = 1_000_000
TOO_LARGE = f"The request body is larger than {MAX_BODY_BYTES:,} bytes."


class BodySizeLimit:
    """ASGI middleware: 413 when a request body exceeds ``max_bytes``."""

    def __init__(self, app: ASGIApp, max_bytes: int = MAX_BODY_BYTES) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = Headers(scope=scope).get("content-length")
        if declared is not None and declared.isdigit():
            if int(declared) > self.max_bytes:
                await _refuse(scope, receive, send)
                return
            await self.app(scope, receive, send)  # the server stops reading at that length
            return
        # No length announced (chunked): read it here, up to the limit, then hand it over.
        # Routes' own body parsers would turn an error raised mid-stream into a 400.
        messages: list[Message] = []
        size = 0
        while True:
            message = await receive()
            messages.append(message)
            if message["type"] != "http.request":
                break
            size += len(message.get("body", b""))
            if size > self.max_bytes:
                await _refuse(scope, receive, send)
                return
            if not message.get("more_body", False):
                break

        async def replay() -> Message:
            return messages.pop(0) if messages else await receive()

        await self.app(scope, replay, send)


class NulBytes:
    """ASGI middleware: 400 for a path or query string holding a NUL byte."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and _has_nul(scope):
            response = PlainTextResponse("The address holds a NUL byte.", status_code=400)
            await response(scope, receive, send)
            return
        await self.app(scope, receive, send)


def _has_nul(scope: Scope) -> bool:
    query: bytes = scope.get("query_string", b"")
    path: str = scope.get("path", "")
    return "\x00" in path or b"%00" in query or b"\x00" in query


async def _refuse(scope: Scope, receive: Receive, send: Send) -> None:
    response = PlainTextResponse(TOO_LARGE, status_code=413, headers={"connection": "close"})
    await response(scope, receive, send)
