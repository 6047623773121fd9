"""Requests refused before any route runs: oversized bodies (413), NUL bytes (400) and JSON
that no route can use (400).

Forms and JSON here are small (a comment is at most 10,000 characters, a manual submission's
abstract 50,000); a larger body is refused whether it announces its size (Content-Length) or
streams it (chunked), so nobody can make a worker buffer megabytes.

A NUL byte in the address (``?tag=%00``) is never meaningful, and PostgreSQL cannot store or
compare one in text: refusing it here keeps every route, present and future, from a 500.

Python's JSON parser (FastAPI's) accepts ``NaN``, ``Infinity``, ``1e999`` (as infinity),
integers of any size and lone surrogates (``"\\ud800"``): none can be stored, and most cannot
even be written back in an error message. ``UnusableBodies`` refuses a JSON body holding one,
or a NUL in any string, and a form holding a NUL in any field, with a 400 that names the rule,
never the value.
"""

from __future__ import annotations

import json
import math
from typing import Annotated, Any

from fastapi import Path
from starlette.datastructures import Headers
from starlette.responses import JSONResponse, PlainTextResponse
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
        await self.app(scope, _replaying(messages, receive), send)


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


# Integers must fit a signed 64-bit column (SQLite's INTEGER, PostgreSQL's BIGINT).
INT64 = range(-(2**63), 2**63)
# A row's key in a path (/comments/<pk>/edit): beyond 64 bits the database refuses the query.
RowKey = Annotated[int, Path(ge=1, le=INT64[-1])]
_MAX_INT_DIGITS = 20  # longer cannot fit; Python refuses past 4,300 digits with a ValueError
UNUSABLE_JSON = (
    "The request body holds a value that cannot be used: numbers must be finite and fit in "
    "64 bits, and text must be valid Unicode without NUL characters."
)
NUL_IN_FORM = "The form holds a NUL character, which no field can take."
_FORM = "application/x-www-form-urlencoded"
_NO_BODY = frozenset({"GET", "HEAD", "OPTIONS"})


class UnusableBodies:
    """ASGI middleware: 400 for a JSON body that Python parses but no route can use, and for a
    form with a NUL byte in a field."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        media_type = _media_type(scope)
        if media_type is None or not (_may_be_json(media_type) or media_type == _FORM):
            await self.app(scope, receive, send)
            return
        messages, body = await _read_body(receive)
        if media_type == _FORM and (b"%00" in body or b"\x00" in body):
            await PlainTextResponse(NUL_IN_FORM, status_code=400)(scope, receive, send)
            return
        if media_type != _FORM and unusable_json(body):
            response = JSONResponse({"status": "error", "detail": UNUSABLE_JSON}, status_code=400)
            await response(scope, receive, send)
            return
        await self.app(scope, _replaying(messages, receive), send)


def _replaying(messages: list[Message], receive: Receive) -> Receive:
    """A receive that hands over the body messages already read, then reads on."""

    async def replay() -> Message:
        return messages.pop(0) if messages else await receive()

    return replay


def _media_type(scope: Scope) -> str | None:
    """The body's media type ("" when unnamed), or None for a request that carries no body."""
    if scope["type"] != "http" or scope["method"] in _NO_BODY:
        return None
    return Headers(scope=scope).get("content-type", "").split(";", 1)[0].strip().lower()


def _may_be_json(media_type: str) -> bool:
    # FastAPI parses a body as JSON when it says so, or when it names no type at all.
    return media_type in ("", "application/json") or media_type.endswith("+json")


async def _read_body(receive: Receive) -> tuple[list[Message], bytes]:
    """Every message of the body (BodySizeLimit, outside, has capped its size) and the bytes."""
    messages: list[Message] = []
    while True:
        message = await receive()
        messages.append(message)
        if message["type"] != "http.request" or not message.get("more_body", False):
            break
    return messages, b"".join(m.get("body", b"") for m in messages if m["type"] == "http.request")


class _Unusable(ValueError):
    pass


def unusable_json(body: bytes) -> bool:
    """Whether ``body`` is JSON holding a value no route can use (see the module's opening).

    A body that is not JSON at all is left to the route's own parser and its 422.
    """
    if not body.strip():
        return False
    try:
        value = json.loads(body, parse_constant=_no_constant, parse_float=_finite, parse_int=_int64)
    except (_Unusable, RecursionError):
        return True
    except ValueError:
        return False
    return any(map(_bad_text, _strings(value)))


def _no_constant(text: str) -> float:
    raise _Unusable(text)


def _finite(text: str) -> float:
    number = float(text)
    if not math.isfinite(number):
        raise _Unusable(text)
    return number


def _int64(text: str) -> int:
    if len(text) > _MAX_INT_DIGITS or int(text) not in INT64:
        raise _Unusable(text)
    return int(text)


def _strings(value: Any) -> list[str]:
    """Every string in a parsed JSON value, object keys included (without recursion)."""
    found, stack = [], [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            found.append(item)
        elif isinstance(item, dict):
            found.extend(item)
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return found


def _bad_text(text: str) -> bool:
    if "\x00" in text:
        return True
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate
        return True
    return False
