"""Administration: ``/admin`` (flagged comments and the moderation log) and its actions.

Every route needs an administrator (403 for anyone else; anonymous visitors go to the login
form); each action is a CSRF-checked POST that writes ``moderation_log`` and answers 303.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Form, HTTPException, Request
from fastapi.responses import HTMLResponse, Response

from paperfeed.community import moderation
from paperfeed.web.auth_deps import AdminDep, FormTokenChecked
from paperfeed.web.deps import EngineDep
from paperfeed.web.redirects import back_target, see_other
from paperfeed.web.request_guards import RowKey
from paperfeed.web.templating import render_page

router = APIRouter(prefix="/admin", include_in_schema=False, dependencies=[FormTokenChecked])

Field = Annotated[str, Form(max_length=2000)]
Next = Annotated[str | None, Form()]


@router.get("", response_class=HTMLResponse)
def admin_page(request: Request, engine: EngineDep, admin: AdminDep) -> HTMLResponse:
    context: dict[str, Any] = {
        "flagged": moderation.flagged_comments(engine),
        "log": moderation.moderation_log_entries(engine),
        "today": date.today().isoformat(),
    }
    return render_page(request, "admin/index.html", context)


def _done(request: Request, next: str | None) -> Response:
    return see_other(back_target(request, next, "/admin"))


def _flag(value: str) -> bool:
    if value not in ("0", "1"):
        raise HTTPException(400, "Expected 1 (on) or 0 (off).")
    return value == "1"


def _run(action: Any) -> None:
    try:
        action()
    except moderation.ModerationError as error:
        raise HTTPException(400, str(error)) from None


@router.post("/papers/feature")
def feature(
    request: Request,
    engine: EngineDep,
    admin: AdminDep,
    paper_id: Field = "",
    day: Field = "",
    next: Next = None,
) -> Response:
    """Feature ``paper_id`` on ``day`` (YYYY-MM-DD); an empty day takes it off the daily pages."""
    try:
        chosen = date.fromisoformat(day.strip()) if day.strip() else None
    except ValueError:
        raise HTTPException(400, f"{day[:40]!r} is not a day (use YYYY-MM-DD).") from None
    _run(lambda: moderation.feature_paper(engine, admin, paper_id.strip(), chosen))
    return _done(request, next)


@router.post("/papers/hide")
def hide_paper(
    request: Request,
    engine: EngineDep,
    admin: AdminDep,
    paper_id: Field = "",
    hidden: Field = "1",
    reason: Field = "",
    next: Next = None,
) -> Response:
    on = _flag(hidden)
    _run(lambda: moderation.set_paper_hidden(engine, admin, paper_id.strip(), on, reason))
    return _done(request, next)


@router.post("/comments/{comment_pk}/hide")
def hide_comment(
    request: Request,
    engine: EngineDep,
    admin: AdminDep,
    comment_pk: RowKey,
    hidden: Field = "1",
    reason: Field = "",
    next: Next = None,
) -> Response:
    on = _flag(hidden)
    _run(lambda: moderation.set_comment_hidden(engine, admin, comment_pk, on, reason))
    return _done(request, next)


@router.post("/users/suspend")
def suspend_user(
    request: Request,
    engine: EngineDep,
    admin: AdminDep,
    username: Field = "",
    suspended: Field = "1",
    reason: Field = "",
    next: Next = None,
) -> Response:
    on = _flag(suspended)
    _run(lambda: moderation.set_user_suspended(engine, admin, username.strip(), on, reason))
    return _done(request, next)
