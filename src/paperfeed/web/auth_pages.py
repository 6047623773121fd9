"""Account pages: register, log in and out, password reset, and the account page (API tokens).

The session cookie is ``__Host-paperfeed_session``: Secure, HttpOnly, SameSite=Lax, Path=/, no
Domain (RELIABILITY 15). Every login starts a new session (the old one is ended), and logging
out deletes the session on the server, so a copied cookie stops working. Every POST checks the
form's CSRF token; form errors re-render the form with a message and never echo a password.
"""

from __future__ import annotations

import logging
from typing import Annotated, Any

from fastapi import APIRouter, BackgroundTasks, Form, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy import Engine

from paperfeed.community import accounts
from paperfeed.community.accounts import AccountError
from paperfeed.community.ratelimit import DAY, RateLimited, check_and_record
from paperfeed.community.sessions import (
    SESSION_LIFETIME,
    create_api_token,
    end_session,
    list_api_tokens,
    revoke_api_token,
    start_session,
)
from paperfeed.community.users import User
from paperfeed.config import Settings
from paperfeed.web.auth_deps import (
    SESSION_COOKIE,
    CurrentUserDep,
    FormTokenChecked,
    UserDep,
    client_ip,
    session_token,
)
from paperfeed.web.deps import EngineDep
from paperfeed.web.redirects import safe_next
from paperfeed.web.request_guards import RowKey
from paperfeed.web.templating import render_page

log = logging.getLogger(__name__)
router = APIRouter(include_in_schema=False, dependencies=[FormTokenChecked])

FormField = Annotated[str, Form()]
REGISTER_LIMIT_PER_IP = 20  # new accounts per client address per day
RESET_SENT = (
    "If an account uses this address, we have sent it a link to choose a new password. "
    "The link works once, for an hour."
)
MAX_TOKEN_NAME = 100


def _too_many(response: Response, error: RateLimited) -> Response:
    response.headers["Retry-After"] = str(error.retry_after)
    return response


def _log_in_response(request: Request, engine: Engine, user: User, target: str) -> Response:
    """Redirect to ``target`` with a new session: any session the browser had is ended."""
    if old := session_token(request):
        end_session(engine, old)
    response = RedirectResponse(safe_next(target), status_code=303)
    response.set_cookie(
        SESSION_COOKIE,
        start_session(engine, user.pk),
        max_age=int(SESSION_LIFETIME.total_seconds()),
        path="/",
        secure=True,
        httponly=True,
        samesite="lax",
    )
    return response


# --- register -------------------------------------------------------------------------------


@router.get("/register")
def register_form(request: Request, viewer: CurrentUserDep, next: str = "/") -> Response:
    if viewer:
        return RedirectResponse(safe_next(next), status_code=303)
    return render_page(request, "auth/register.html", _register_context(next))


def _register_context(
    next: str, username: str = "", email: str = "", error: str = "", field: str = ""
) -> dict[str, Any]:
    return {
        "next": safe_next(next),
        "username": username,
        "email": email,
        "error": error,
        "field": field,
    }


@router.post("/register")
def register(
    request: Request,
    engine: EngineDep,
    username: FormField = "",
    email: FormField = "",
    password: FormField = "",
    next: FormField = "/",
) -> Response:
    context = _register_context(next, username[:100], email[:320])
    try:
        check_and_record(engine, "register_ip", client_ip(request), REGISTER_LIMIT_PER_IP, DAY)
        user = accounts.register(engine, username, email, password)
    except RateLimited as error:
        context["error"] = "Too many new accounts from your network today. Try again tomorrow."
        return _too_many(render_page(request, "auth/register.html", context, 429), error)
    except AccountError as error:
        context.update(error=str(error), field=error.field)
        return render_page(request, "auth/register.html", context, 400)
    return _log_in_response(request, engine, user, next)


# --- log in and out -------------------------------------------------------------------------


@router.get("/login")
def login_form(request: Request, viewer: CurrentUserDep, next: str = "/") -> Response:
    if viewer:
        return RedirectResponse(safe_next(next), status_code=303)
    notice = (
        "Your password was changed. Log in with the new one."
        if "reset" in request.query_params
        else ""
    )
    context = {"next": safe_next(next), "login": "", "error": "", "notice": notice}
    return render_page(request, "auth/login.html", context)


@router.post("/login")
def login(
    request: Request,
    engine: EngineDep,
    login: FormField = "",
    password: FormField = "",
    next: FormField = "/",
) -> Response:
    context = {"next": safe_next(next), "login": login[:320], "error": "", "notice": ""}
    try:
        user = accounts.log_in(engine, login, password, client_ip(request))
    except RateLimited as error:
        context["error"] = (
            f"Too many attempts to log in. Wait {error.retry_after} seconds, then try again."
        )
        return _too_many(render_page(request, "auth/login.html", context, 429), error)
    except AccountError as error:
        context["error"] = str(error)
        return render_page(request, "auth/login.html", context, 400)
    return _log_in_response(request, engine, user, next)


@router.post("/logout")
def logout(request: Request, engine: EngineDep) -> Response:
    if token := session_token(request):
        end_session(engine, token)
    response = RedirectResponse("/", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/", secure=True, httponly=True, samesite="lax")
    return response


# --- password reset -------------------------------------------------------------------------


@router.get("/reset")
def reset_request_form(request: Request) -> Response:
    return render_page(
        request, "auth/reset_request.html", {"email": "", "error": "", "sent": False}
    )


@router.post("/reset")
def reset_request(
    request: Request,
    engine: EngineDep,
    background: BackgroundTasks,
    email: FormField = "",
) -> Response:
    settings: Settings = request.app.state.settings
    context = {"email": email[:320], "error": "", "sent": False}
    try:
        mail = accounts.request_password_reset(engine, settings, email, client_ip(request))
    except RateLimited as error:
        context["error"] = "Too many reset requests today. Try again tomorrow."
        return _too_many(render_page(request, "auth/reset_request.html", context, 429), error)
    if mail is not None:
        # Sent after the response: an address with an account must not answer more slowly.
        background.add_task(_send_quietly, settings, mail)
    context.update(sent=True, email="")
    return render_page(request, "auth/reset_request.html", context)


def _send_quietly(settings: Settings, mail: accounts.ResetMail) -> None:
    try:
        accounts.send_reset_mail(settings, mail)
    except Exception as error:  # the visitor was already answered; the operator must know
        log.error("password-reset mail not sent: %s", error)


@router.get("/reset/{token}")
def reset_form(request: Request, engine: EngineDep, token: str) -> Response:
    if accounts.reset_token_user(engine, token) is None:
        context = {"token": "", "error": accounts.RESET_INVALID}
        return render_page(request, "auth/reset_confirm.html", context, 400)
    return render_page(request, "auth/reset_confirm.html", {"token": token, "error": ""})


@router.post("/reset/{token}")
def reset_confirm(
    request: Request,
    engine: EngineDep,
    token: str,
    password: FormField = "",
) -> Response:
    try:
        accounts.confirm_password_reset(engine, token, password)
    except AccountError as error:
        still_valid = error.field == "password"
        context = {"token": token if still_valid else "", "error": str(error)}
        return render_page(request, "auth/reset_confirm.html", context, 400)
    response = RedirectResponse("/login?reset=1", status_code=303)
    # Every session of the account was ended, this browser's included.
    response.delete_cookie(SESSION_COOKIE, path="/", secure=True, httponly=True, samesite="lax")
    return response


# --- the account page -----------------------------------------------------------------------


def _account_context(engine: Engine, user: User, **extra: Any) -> dict[str, Any]:
    context: dict[str, Any] = {
        "account": user,
        "tokens": list_api_tokens(engine, user.pk),
        "new_token": "",
        "token_error": "",
        "password_error": "",
        "notice": "",
    }
    context.update(extra)
    return context


@router.get("/account")
def account(request: Request, engine: EngineDep, user: UserDep) -> Response:
    notice = "Your password was changed." if "password" in request.query_params else ""
    return render_page(request, "auth/account.html", _account_context(engine, user, notice=notice))


@router.post("/account/tokens")
def create_token(
    request: Request,
    engine: EngineDep,
    user: UserDep,
    name: FormField = "",
) -> Response:
    name = " ".join(name.split())
    if not name or len(name) > MAX_TOKEN_NAME or not name.isprintable():
        error = f"Give the token a name of 1 to {MAX_TOKEN_NAME} printable characters."
        context = _account_context(engine, user, token_error=error)
        return render_page(request, "auth/account.html", context, 400)
    token = create_api_token(engine, user.pk, name)
    # Rendered, not redirected: the token must not end up in a URL or the history.
    response = render_page(
        request, "auth/account.html", _account_context(engine, user, new_token=token)
    )
    response.headers["Cache-Control"] = "no-store"
    return response


@router.post("/account/tokens/{token_pk}/revoke")
def revoke_token(engine: EngineDep, user: UserDep, token_pk: RowKey) -> Response:
    revoke_api_token(engine, user.pk, token_pk)
    return RedirectResponse("/account", status_code=303)


@router.post("/account/password")
def change_password(
    request: Request,
    engine: EngineDep,
    user: UserDep,
    current_password: FormField = "",
    new_password: FormField = "",
) -> Response:
    try:
        accounts.change_password(
            engine, user, current_password, new_password, keep_session=session_token(request)
        )
    except AccountError as error:
        context = _account_context(engine, user, password_error=str(error))
        return render_page(request, "auth/account.html", context, 400)
    return RedirectResponse("/account?password=1", status_code=303)
