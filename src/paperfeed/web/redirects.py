"""Where a form sends the browser next: only ever a path on this site (no open redirect)."""

from __future__ import annotations

from urllib.parse import urlsplit

from fastapi import Request
from fastapi.responses import PlainTextResponse, Response


def safe_next(target: str | None) -> str:
    """``target`` if it is a path on this site, else ``/`` (no open redirect)."""
    if not target or not target.startswith("/") or target.startswith("//"):
        return "/"
    if "\\" in target or any(ord(char) < 0x21 or ord(char) == 0x7F for char in target):
        return "/"  # browsers read "/\\evil.test" as "//evil.test"
    parts = urlsplit(target)
    return "/" if parts.scheme or parts.netloc else target


def back_target(request: Request, next_field: str | None, fallback: str) -> str:
    """Where a form sends the browser back to: the ``next`` field, else the Referer when it is
    this site, else ``fallback``; always a path on this site (no open redirect)."""
    if next_field and safe_next(next_field) == next_field:
        return next_field
    referer = request.headers.get("referer", "")
    if referer:
        parts = urlsplit(referer)
        own = {request.url.netloc, urlsplit(request.app.state.settings.base_url).netloc}
        if parts.scheme in ("http", "https") and parts.netloc in own:
            path = parts.path + (f"?{parts.query}" if parts.query else "")
            if safe_next(path) == path:
                return path
    return fallback


def see_other(target: str) -> Response:
    """303 to ``target``, with a short text body (every response carries a charset)."""
    return PlainTextResponse(f"See {target}", status_code=303, headers={"Location": target})
