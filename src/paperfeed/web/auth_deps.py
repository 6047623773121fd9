"""Who is asking: the signed-in user (session cookie or API token) and the CSRF form token.

Pages and API routes take ``CurrentUserDep`` (``User | None``), ``UserDep`` (must be signed in)
or ``AdminDep``. Forms that change state carry ``csrf_token(request)`` in a hidden field named
``csrf_token`` (JSON clients send it as ``X-CSRF-Token``); every router that has such routes
is built with ``dependencies=[FormTokenChecked]`` (or ``SignedInFormTokenChecked`` where every
change needs an account), so none of its POST, PUT, PATCH or DELETE routes can forget it.
The Origin / Sec-Fetch-Site check for every unsafe request is the ``CrossSiteGuard``
middleware in ``csrf.py``.
"""

from __future__ import annotations

import hashlib
import hmac
from functools import lru_cache
from typing import Annotated
from urllib.parse import quote

from fastapi import Depends, HTTPException, Request
from starlette.concurrency import run_in_threadpool

from paperfeed.community.ratelimit import Network, client_address, parse_trusted_proxies
from paperfeed.community.sessions import api_token_user, session_user
from paperfeed.community.users import User
from paperfeed.web.deps import ready_engine

# `__Host-`: the browser only accepts it Secure, with Path=/ and no Domain (RELIABILITY 15).
SESSION_COOKIE = "__Host-paperfeed_session"
UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")


def session_token(request: Request) -> str | None:
    return request.cookies.get(SESSION_COOKIE) or None


def _bearer_token(request: Request) -> str | None:
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    return token.strip() or None if scheme.lower() == "bearer" else None


def current_user(request: Request) -> User | None:
    """The signed-in user of this request, once per request (cached on request.state)."""
    if hasattr(request.state, "user"):
        cached: User | None = request.state.user
        return cached
    engine = ready_engine(request)
    user = None
    if bearer := _bearer_token(request):
        user = api_token_user(engine, bearer)
        if user is None:
            raise HTTPException(401, "The API token is not valid.")
        request.state.via_token = True
    elif token := session_token(request):
        user = session_user(engine, token)
    # Also read by PrivateWhenSignedIn (security.py): an answer made for a user is private.
    request.state.user = user
    return user


def require_user(request: Request) -> User:
    user = current_user(request)
    if user is None:
        if request.url.path.startswith("/api/"):
            raise HTTPException(401, "Sign in or send an API token.")
        # A page: send the visitor to the login form, then back here.
        raise HTTPException(303, "Sign in first.", headers={"Location": _login_url(request)})
    return user


def require_admin(request: Request) -> User:
    user = require_user(request)
    if not user.is_admin:
        raise HTTPException(403, "Only administrators can do this.")
    return user


def _login_url(request: Request) -> str:
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return f"/login?next={quote(target, safe='')}"


def client_ip(request: Request) -> str:
    """The client's address for rate limits: the TCP peer, or what a trusted proxy forwarded."""
    peer = request.client.host if request.client else None
    trusted = _trusted_networks(request.app.state.settings.trusted_proxies)
    return client_address(peer, request.headers.get("x-forwarded-for"), trusted)


@lru_cache(maxsize=8)
def _trusted_networks(setting: str) -> list[Network]:
    return parse_trusted_proxies(setting)


def csrf_token(request: Request) -> str:
    """The form token for this browser: bound to its session, so another user's is useless."""
    secret = request.app.state.settings.resolved_secret_key().encode()
    binding = session_token(request) or "anonymous"
    return hmac.new(secret, f"csrf:{binding}".encode(), hashlib.sha256).hexdigest()


def check_csrf(request: Request, submitted: str | None) -> None:
    """403 unless ``submitted`` is this browser's form token (API-token requests are exempt)."""
    if getattr(request.state, "via_token", False):
        return
    if not submitted or not hmac.compare_digest(submitted, csrf_token(request)):
        raise HTTPException(403, "The form expired or came from another site. Reload and retry.")


async def require_form_token(request: Request) -> None:
    """403 for a state-changing request without this browser's form token, in the form's
    ``csrf_token`` field or the ``X-CSRF-Token`` header; a valid API token stands instead.

    Routers take it whole (``FormTokenChecked``), so it lets the safe methods pass. It runs
    before the route's own parameters: a cross-site request learns nothing, not even a 401
    or a 422.
    """
    if request.method not in UNSAFE_METHODS:
        return
    if _bearer_token(request):
        # A valid API token marks the request (check_csrf then lets it pass); a bad one is a 401.
        await run_in_threadpool(current_user, request)
    check_csrf(request, request.headers.get("x-csrf-token") or await _form_token(request))


async def require_form_token_if_signed_in(request: Request) -> None:
    """``require_form_token`` for requests that carry a session or an API token.

    For routers whose every state change needs an account: a request with neither carries no
    authority that another site could borrow, so it goes on to the route, which sends it to
    sign in (401, or 303 to the login page). The sign-in forms themselves take the strict
    check: a forged login would sign the victim in as the forger.
    """
    if session_token(request) or _bearer_token(request):
        await require_form_token(request)


async def _form_token(request: Request) -> str | None:
    if not request.headers.get("content-type", "").startswith(FORM_TYPES):
        return None
    # Parsed once: the route's own Form() parameters read the same parsed form.
    value = (await request.form()).get("csrf_token")
    return value if isinstance(value, str) else None


CurrentUserDep = Annotated[User | None, Depends(current_user)]
UserDep = Annotated[User, Depends(require_user)]
AdminDep = Annotated[User, Depends(require_admin)]
FormTokenChecked = Depends(require_form_token)
SignedInFormTokenChecked = Depends(require_form_token_if_signed_in)
