"""Email pages: subscribe, confirm, unsubscribe (RFC 8058 one-click), preferences, preview.

A GET never changes anything (mail scanners follow links): confirm and unsubscribe links
show a page with a button, and the POST does the work. ``POST /unsubscribe/<token>`` is the
``List-Unsubscribe`` one-click target: it needs no cookie and no CSRF token (the signed token
is the authority; header-less POSTs pass ``CrossSiteGuard``) and answers 200, never a redirect.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, BackgroundTasks, Form, HTTPException, Request
from fastapi.responses import Response
from pydantic import BaseModel, Field
from sqlalchemy import Engine

from paperfeed.community.ratelimit import DAY, RateLimited, check_and_record
from paperfeed.config import Settings
from paperfeed.mail import subscriptions as subs
from paperfeed.mail import tokens
from paperfeed.mail.subscriptions import Subscription, SubscriptionError
from paperfeed.mail.transport import MailError, make_sender
from paperfeed.web.auth_deps import CurrentUserDep, FormTokenChecked, client_ip
from paperfeed.web.deps import EngineDep
from paperfeed.web.templating import render_page

log = logging.getLogger(__name__)
router = APIRouter(include_in_schema=False, dependencies=[FormTokenChecked])
# RFC 8058 one-click unsubscribe: mail clients POST it with no cookie and no form token; the
# signed token in the address is the authority, and unsubscribing is all it can do.
one_click = APIRouter(include_in_schema=False)

FormField = Annotated[str, Form()]
CHECK_INBOX = (
    "If this address is not subscribed yet, we have sent it an email with a link to confirm. "
    "Nothing else is sent until you confirm."
)


def _settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def _send_confirmation(settings: Settings, sub: Subscription) -> None:
    sender = make_sender(settings)
    try:
        subs.send_confirmation(settings, sender, sub)
    except MailError as error:
        log.error("confirmation not sent", extra={"to": sub.email, "error": str(error)})
    finally:
        sender.close()


def _send_account_needed(settings: Settings, email: str) -> None:
    sender = make_sender(settings)
    try:
        sender.send(subs.account_needed_message(settings, email))
    except MailError as error:
        log.error("account-needed notice not sent", extra={"to": email, "error": str(error)})
    finally:
        sender.close()


def _subscribe(
    engine: Engine,
    settings: Settings,
    background: BackgroundTasks,
    address: str,
    frequency: str,
    kind: str,
    topic: str,
) -> None:
    """Store the subscription and queue its mail (sent after the response, like a reset's).

    A "for you" digest for an address without an account is answered like any other: the
    address's owner learns why by mail, whoever typed it learns nothing (no enumeration).
    """
    try:
        sub, needs_confirmation = subs.subscribe(engine, address, frequency, kind, topic)
    except subs.NoAccount as missing:
        if missing.notify:
            background.add_task(_send_account_needed, settings, address)
        return
    if needs_confirmation:
        background.add_task(_send_confirmation, settings, sub)


@router.post("/subscribe")
def subscribe(
    request: Request,
    engine: EngineDep,
    background: BackgroundTasks,
    email: FormField = "",
    frequency: FormField = "daily",
    topic: FormField = "",
    kind: FormField = "trending",
) -> Response:
    settings = _settings(request)
    context: dict[str, Any] = {
        "email": email[:320],
        "frequency": frequency if frequency in subs.FREQUENCIES else "daily",
        "heading": "Check your inbox",
        "message": CHECK_INBOX,
        "error": False,
    }
    try:
        address = subs.normalise_email(email)
        subs.check_frequency(frequency)
        cap = settings.subscribe_daily_cap
        check_and_record(engine, "subscribe_ip", client_ip(request), cap * 4, DAY)
        check_and_record(engine, "subscribe_email", address, cap, DAY)
        kind = "topic" if topic.strip() else ("for_you" if kind == "for_you" else "trending")
        _subscribe(engine, settings, background, address, frequency, kind, topic)
    except SubscriptionError as error:
        context.update(heading="Subscribe", message=str(error), error=True)
        return render_page(request, "mail/subscribed.html", context, 400)
    except RateLimited as error:
        context.update(
            heading="Subscribe",
            message="Too many subscription requests today. Try again tomorrow.",
            error=True,
        )
        response = render_page(request, "mail/subscribed.html", context, 429)
        response.headers["Retry-After"] = str(error.retry_after)
        return response
    # The same answer whether or not the address was subscribed: no account enumeration.
    return render_page(request, "mail/subscribed.html", context)


def _link_sub(
    engine: Engine, settings: Settings, token: str, purpose: tokens.Purpose
) -> tuple[Subscription | None, str]:
    try:
        return subs.subscription_for(engine, settings, token, purpose), ""
    except SubscriptionError as error:
        return None, str(error)


@router.get("/confirm/{token}")
def confirm_page(request: Request, engine: EngineDep, token: str) -> Response:
    settings = _settings(request)
    sub, error = _link_sub(engine, settings, token, "confirm")
    if sub is not None and sub.active:  # a second click (mail clients open links twice)
        return _confirmed(request, settings, sub, token)
    if sub is not None and (sub.confirmed_at is not None or sub.unsubscribed_at is not None):
        sub, error = None, "This confirmation link was already used or replaced."
    context = {"sub": sub, "error": error, "token": token, "done": False}
    return render_page(request, "mail/confirm.html", context, 400 if error else 200)


@router.post("/confirm/{token}")
def confirm(request: Request, engine: EngineDep, token: str) -> Response:
    settings = _settings(request)
    try:
        sub = subs.confirm(engine, settings, token)
    except SubscriptionError as error:
        linked, _ = _link_sub(engine, settings, token, "confirm")
        if linked is not None and linked.active:  # confirmed already: nothing to undo or redo
            return _confirmed(request, settings, linked, token)
        context: dict[str, Any] = {"sub": None, "error": str(error), "token": token}
        return render_page(request, "mail/confirm.html", {**context, "done": False}, 400)
    return _confirmed(request, settings, sub, token)


def _confirmed(request: Request, settings: Settings, sub: Subscription, token: str) -> Response:
    preferences = subs.preferences_url(settings, sub.pk).removeprefix(settings.base_url.rstrip("/"))
    context = {"sub": sub, "error": "", "token": token}
    context.update(done=True, preferences_path=preferences)
    return render_page(request, "mail/confirm.html", context)


@router.get("/unsubscribe/{token}")
def unsubscribe_page(request: Request, engine: EngineDep, token: str) -> Response:
    sub, error = _link_sub(engine, _settings(request), token, "unsubscribe")
    done = sub is not None and sub.unsubscribed_at is not None
    context = {"sub": sub, "error": error, "token": token, "done": done}
    return render_page(request, "mail/unsubscribe.html", context, 400 if error else 200)


@one_click.post("/unsubscribe/{token}")
def unsubscribe(request: Request, engine: EngineDep, token: str) -> Response:
    # RFC 8058 one-click: no cookie, no CSRF token; the body (List-Unsubscribe=One-Click, or
    # the page's empty form) does not matter. 200 with a page, never a redirect.
    try:
        sub = subs.unsubscribe(engine, _settings(request), token)
    except SubscriptionError as error:
        context: dict[str, Any] = {"sub": None, "error": str(error), "token": token}
        return render_page(request, "mail/unsubscribe.html", {**context, "done": False}, 400)
    context = {"sub": sub, "error": "", "token": token, "done": True}
    return render_page(request, "mail/unsubscribe.html", context)


def _preferences_context(
    settings: Settings, token: str, sub: Subscription | None, error: str = "", saved: bool = False
) -> dict[str, Any]:
    unsubscribe_path = ""
    if sub is not None:
        unsubscribe_path = subs.unsubscribe_url(settings, sub.pk).removeprefix(
            settings.base_url.rstrip("/")
        )
    return {
        "sub": sub,
        "error": error,
        "saved": saved,
        "token": token,
        "unsubscribe_path": unsubscribe_path,
    }


@router.get("/preferences/{token}")
def preferences_page(request: Request, engine: EngineDep, token: str) -> Response:
    settings = _settings(request)
    sub, error = _link_sub(engine, settings, token, "preferences")
    context = _preferences_context(settings, token, sub, error)
    return render_page(request, "mail/preferences.html", context, 400 if sub is None else 200)


@router.post("/preferences/{token}")
def preferences(
    request: Request,
    engine: EngineDep,
    token: str,
    frequency: FormField = "daily",
    topic: FormField = "",
) -> Response:
    settings = _settings(request)
    sub, error = _link_sub(engine, settings, token, "preferences")
    if sub is None:
        return render_page(
            request,
            "mail/preferences.html",
            _preferences_context(settings, token, None, error),
            400,
        )
    try:
        sub = subs.update_preferences(
            engine, settings, token, frequency, topic if sub.kind == "topic" else None
        )
    except SubscriptionError as error:
        context = _preferences_context(settings, token, sub, str(error))
        return render_page(request, "mail/preferences.html", context, 400)
    context = _preferences_context(settings, token, sub, saved=True)
    return render_page(request, "mail/preferences.html", context)


@router.get("/digest/preview")
def digest_preview(
    request: Request,
    engine: EngineDep,
    viewer: CurrentUserDep,
    kind: str = "trending",
    frequency: str = "daily",
    q: str = "",
) -> Response:
    """Public: the trending (or a topic) digest as it would go out now: public data only.

    No subscriber's own digest is shown here (that needs the address); operators use
    ``paperfeed digest preview --email``.
    """
    from paperfeed.mail.digest import heading_of, period_of
    from paperfeed.mail.preview import preview_papers, sample_subscription

    del viewer  # the page is the same for everyone
    # "for you" is a person's own recommendations: not previewed here.
    if frequency not in subs.FREQUENCIES or kind not in ("trending", "topic"):
        return render_page(
            request,
            "error.html",
            {
                "title": "Invalid request",
                "message": "Unknown digest kind or frequency.",
                "command": None,
            },
            400,
        )
    if kind == "topic":
        try:
            q = subs.check_query(q)
        except SubscriptionError as error:
            problem = {"title": "Invalid request", "message": str(error), "command": None}
            return render_page(request, "error.html", problem, 400)
    sub = sample_subscription(frequency, kind, q if kind == "topic" else "")
    papers = preview_papers(engine, _settings(request), sub)
    _, _, subject = heading_of(sub, period_of(frequency, datetime.now(UTC)), len(papers))
    context: dict[str, Any] = {
        "subject": subject,
        "papers": papers,
        "kind": kind,
        "frequency": frequency,
        "other_frequency": "weekly" if frequency == "daily" else "daily",
    }
    return render_page(request, "mail/preview.html", context)


# --- JSON API -------------------------------------------------------------------------------

api_router = APIRouter(prefix="/api", tags=["email"])


class SubscribeIn(BaseModel):
    email: str = Field(max_length=320, description="The address to send digests to.")
    frequency: Literal["daily", "weekly"] = "daily"
    topic: str | None = Field(
        default=None,
        max_length=subs.MAX_QUERY,
        description="A search query: a topic digest instead of trending papers.",
    )
    for_you: bool = Field(
        default=False,
        description="The recommendations of the account that uses this address, instead of "
        "trending papers.",
    )


class SubscribeOut(BaseModel):
    status: str = Field(
        description="`pending`: a confirmation link was sent (or the address is "
        "already subscribed; the answer does not say which)."
    )
    detail: str


class ApiErrorOut(BaseModel):
    status: str = "error"
    detail: str


@api_router.post(
    "/subscriptions",
    status_code=202,
    response_model=SubscribeOut,
    responses={
        400: {
            "model": ApiErrorOut,
            "description": "Not an email address, an empty topic, or both topic and for_you.",
        },
        429: {"model": ApiErrorOut, "description": "Daily cap reached (see Retry-After)."},
    },
)
def api_subscribe(
    request: Request, engine: EngineDep, background: BackgroundTasks, body: SubscribeIn
) -> SubscribeOut:
    """Subscribe an address to a digest: double opt-in, the confirmation link is emailed."""
    settings = _settings(request)
    try:
        address = subs.normalise_email(body.email)
        cap = settings.subscribe_daily_cap
        check_and_record(engine, "subscribe_ip", client_ip(request), cap * 4, DAY)
        check_and_record(engine, "subscribe_email", address, cap, DAY)
        kind = "topic" if body.topic and body.topic.strip() else "trending"
        if body.for_you and kind == "topic":  # two kinds asked for: neither is guessed
            raise SubscriptionError("Give a topic or for_you, not both: they are two digests.")
        kind = "for_you" if body.for_you else kind
        _subscribe(engine, settings, background, address, body.frequency, kind, body.topic or "")
    except SubscriptionError as error:
        raise HTTPException(400, str(error)) from None
    except RateLimited as error:
        raise HTTPException(
            429,
            "Too many subscription requests today. Try again tomorrow.",
            headers={"Retry-After": str(error.retry_after)},
        ) from None
    return SubscribeOut(status="pending", detail=CHECK_INBOX)
