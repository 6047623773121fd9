"""Refuse cross-site state changes before any route runs (RELIABILITY 12).

Browsers send ``Sec-Fetch-Site`` and ``Origin`` on POSTs; a request that says it comes from
another site gets 403. Requests without either header (scripts with API tokens, mail
providers' one-click unsubscribe) pass here; forms also carry a token (``auth_deps``).
"""

from __future__ import annotations

from urllib.parse import urlsplit

from starlette.datastructures import Headers
from starlette.responses import PlainTextResponse
from starlette.types import ASGIApp, Receive, Scope, Send

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
FORBIDDEN = "Cross-site request refused."


class CrossSiteGuard:
    """ASGI middleware: 403 for unsafe requests that a browser marks as cross-site."""

    def __init__(self, app: ASGIApp, base_url: str) -> None:
        self.app = app
        self.trusted_origin = _origin(base_url)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        unsafe = scope["type"] == "http" and scope["method"] not in SAFE_METHODS
        if unsafe and self._cross_site(Headers(scope=scope)):
            response = PlainTextResponse(FORBIDDEN, status_code=403)
            await response(scope, receive, send)
            return
        await self.app(scope, receive, send)

    def _cross_site(self, headers: Headers) -> bool:
        if headers.get("sec-fetch-site", "").lower() == "cross-site":
            return True
        origin = headers.get("origin")
        if origin is None:
            return False
        # Same origin: the configured public URL, or the Host the request was sent to.
        host_origin = {f"http://{headers.get('host', '')}", f"https://{headers.get('host', '')}"}
        return origin.rstrip("/") not in host_origin | {self.trusted_origin}


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"
