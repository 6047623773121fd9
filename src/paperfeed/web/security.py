"""Security headers on every response, whatever route or error produced it.

A crash included: Starlette answers an unhandled exception from its outermost layer, outside
every middleware, so that 500 would go out bare. ``SecurityHeaders`` answers it itself (with
the headers, without the exception's text) and re-raises, so the server still logs it.
"""

from __future__ import annotations

from starlette.datastructures import MutableHeaders
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send


def content_security_policy(style_src: str = "'self'") -> str:
    """The site's CSP. Pages use same-origin stylesheets and one same-origin script (htmx):
    nothing else, and no inline code. Only /docs (Swagger UI) widens ``style_src``."""
    return "; ".join(
        (
            "default-src 'none'",
            "script-src 'self'",
            "connect-src 'self'",
            f"style-src {style_src}",
            # KaTeX's fonts (/static/vendor/katex/fonts), for LaTeX in titles and abstracts.
            "font-src 'self'",
            "img-src 'self' data:",
            "form-action 'self'",
            "object-src 'none'",
            "base-uri 'none'",
            "frame-ancestors 'none'",
        )
    )


CONTENT_SECURITY_POLICY = content_security_policy()

SECURITY_HEADERS = {
    "content-security-policy": CONTENT_SECURITY_POLICY,
    "x-content-type-options": "nosniff",
    "referrer-policy": "strict-origin-when-cross-origin",
    "x-frame-options": "DENY",
    "cross-origin-opener-policy": "same-origin",
    "permissions-policy": "camera=(), microphone=(), geolocation=(), interest-cohort=()",
}

# Text types a browser would otherwise decode with a guessed charset.
_NEEDS_CHARSET = ("text/", "application/json", "application/javascript")
SERVER_ERROR = "Something went wrong on our side. It has been logged; please try again later."


class SecurityHeaders:
    """ASGI middleware: adds SECURITY_HEADERS and a charset on textual content types."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        started = False

        async def send_with_headers(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                _add_headers(MutableHeaders(scope=message))
            await send(message)

        try:
            await self.app(scope, receive, send_with_headers)
        except Exception:
            if not started:
                await server_error(scope)(scope, receive, send_with_headers)
            raise  # for the server's log; Starlette sends nothing more once a response started


def server_error(scope: Scope) -> Response:
    """A 500 that tells nothing of the crash: JSON for API clients, text for people."""
    path: str = scope.get("path", "")
    if path.startswith("/api/") or path == "/healthz":
        return JSONResponse({"status": "error", "detail": SERVER_ERROR}, status_code=500)
    return PlainTextResponse(SERVER_ERROR, status_code=500)


def _add_headers(headers: MutableHeaders) -> None:
    for name, value in SECURITY_HEADERS.items():
        headers.setdefault(name, value)
    content_type = headers.get("content-type")
    if content_type and "charset=" not in content_type and content_type.startswith(_NEEDS_CHARSET):
        headers["content-type"] = f"{content_type}; charset=utf-8"


class PrivateWhenSignedIn:
    """ASGI middleware: ``Cache-Control: private`` on every answer made for a signed-in user.

    A page or API answer rendered for a session or an API token (the request's user was looked
    up and found, see ``auth_deps.current_user``) must not be kept by a shared cache and shown
    to the next visitor. Anonymous answers, and routes that never ask who is signed in (feeds,
    static files), keep their own caching.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        # Made here, so the routes' request.state writes to this very dict (a copied scope
        # further in would otherwise get its own).
        state = scope.setdefault("state", {})

        async def send_private(message: Message) -> None:
            if message["type"] == "http.response.start" and state.get("user") is not None:
                _make_private(MutableHeaders(scope=message))
            await send(message)

        await self.app(scope, receive, send_private)


def _make_private(headers: MutableHeaders) -> None:
    current = headers.get("cache-control", "")
    if "private" in current or "no-store" in current:
        return
    kept = [part.strip() for part in current.split(",") if part.strip().lower() != "public"]
    headers["cache-control"] = ", ".join(["private", *(part for part in kept if part)])
