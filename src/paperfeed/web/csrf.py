"""Refuse requests for other hosts (RELIABILITY 27) and cross-site state changes (12) before any
route runs.

A DNS-rebinding page (``http://rebind.evil.test:8000``, its name pointed at 127.0.0.1) is same
origin with a private instance as far as the browser knows: its requests carry ``Host`` and
``Origin`` of the attacker's name. ``AllowedHosts`` refuses any host that is not the base
URL's, a loopback name or one of ``allowed_hosts`` (400), so such a page gets nothing.

Browsers send ``Sec-Fetch-Site`` and ``Origin`` on POSTs; a request that says it comes from
another site gets 403. Requests without either header (scripts with API tokens, mail
providers' one-click unsubscribe) pass here; forms also carry a token (``auth_deps``).

Both read the app's settings at each request, never a copy made at start-up: ``serve`` may set
the base URL to the address it listens on after the settings were first read.
"""

from __future__ import annotations

from functools import lru_cache
from urllib.parse import urlsplit

from starlette.datastructures import Headers
from starlette.responses import PlainTextResponse
from starlette.types import ASGIApp, Receive, Scope, Send

from paperfeed.config import Settings

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
FORBIDDEN = "Cross-site request refused."
UNKNOWN_HOST = "This site does not answer to that host name."
LOOPBACK_NAMES = ("localhost", "127.0.0.1", "::1")


class AllowedHosts:
    """ASGI middleware: 400 for a request whose ``Host`` is not one this site answers to."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] in ("http", "websocket"):
            host = Headers(scope=scope).get("host", "")
            if not host_allowed(host, _settings(scope)):
                await PlainTextResponse(UNKNOWN_HOST, status_code=400)(scope, receive, send)
                return
        await self.app(scope, receive, send)


class CrossSiteGuard:
    """ASGI middleware: 403 for unsafe requests that a browser marks as cross-site."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        unsafe = scope["type"] == "http" and scope["method"] not in SAFE_METHODS
        if unsafe and cross_site(Headers(scope=scope), _settings(scope)):
            response = PlainTextResponse(FORBIDDEN, status_code=403)
            await response(scope, receive, send)
            return
        await self.app(scope, receive, send)


def _settings(scope: Scope) -> Settings:
    settings: Settings = scope["app"].state.settings
    return settings


def cross_site(headers: Headers, settings: Settings) -> bool:
    """Whether the browser says this request comes from a page of another origin."""
    if headers.get("sec-fetch-site", "").lower() == "cross-site":
        return True
    origin = headers.get("origin")
    if origin is None:
        return False
    return origin.rstrip("/").lower() not in served_origins(headers.get("host", ""), settings)


def served_origins(host: str, settings: Settings) -> set[str]:
    """The origins of this site: the base URL's, and the request's own host if it is allowed.

    ``Host`` alone is not trusted: a rebinding page's ``Origin`` matches its ``Host`` too.
    """
    origins = {_origin(settings.base_url)}
    if host_allowed(host, settings):
        origins |= {f"http://{host.lower()}", f"https://{host.lower()}"}
    return origins


def host_allowed(host: str, settings: Settings) -> bool:
    """Whether ``host`` (a Host header: a name or an address, maybe with a port) is allowed."""
    allowed = allowed_hosts(settings.allowed_hosts, settings.base_url)
    return "*" in allowed or host_name(host) in allowed


@lru_cache(maxsize=16)
def allowed_hosts(setting: str, base_url: str) -> frozenset[str]:
    """The host names allowed: the base URL's, loopback, and those the setting lists."""
    listed = (host_name(item) if item != "*" else "*" for item in setting.split(","))
    base = host_name(urlsplit(base_url).netloc)
    return frozenset(name for name in (*listed, base, *LOOPBACK_NAMES) if name)


def host_name(host: str) -> str:
    """``Example.org.:8000`` -> ``example.org``, ``[::1]:8000`` -> ``::1``; "" if malformed."""
    host = host.strip()
    if any(char in host for char in "@/\\?# "):  # no browser sends these; urlsplit would skip them
        return ""
    try:
        name = urlsplit(f"//{host}").hostname or ""
    except ValueError:  # an unclosed [ or a port that is not a number
        return ""
    return name.rstrip(".")


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}".lower()
