"""Security headers on every response, whatever route or error produced it."""

from __future__ import annotations

from starlette.datastructures import MutableHeaders
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


class SecurityHeaders:
    """ASGI middleware: adds SECURITY_HEADERS and a charset on textual content types."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                _add_headers(MutableHeaders(scope=message))
            await send(message)

        await self.app(scope, receive, send_with_headers)


def _add_headers(headers: MutableHeaders) -> None:
    for name, value in SECURITY_HEADERS.items():
        headers.setdefault(name, value)
    content_type = headers.get("content-type")
    if content_type and "charset=" not in content_type and content_type.startswith(_NEEDS_CHARSET):
        headers["content-type"] = f"{content_type}; charset=utf-8"
