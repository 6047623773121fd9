"""Community page routes: upvote, save, comment, flag, the library and the submit page.

Every state change is a form POST with the ``csrf_token`` field; without JavaScript each answers
303 back to the page it came from (a same-site path only). The upvote button also works through
htmx: a request with ``HX-Request`` gets the re-rendered ``_vote.html`` fragment.
"""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Form, HTTPException, Request
from fastapi.responses import HTMLResponse, PlainTextResponse, Response
from sqlalchemy import Engine, select

from paperfeed.community import comments as comment_store
from paperfeed.community.library import (
    TagError,
    library,
    normalise_tag,
    set_saved,
    set_tags,
    tags_from_field,
    user_tags,
)
from paperfeed.community.submit import (
    NEW_ACCOUNT_DAILY_LIMIT,
    ArxivUnavailable,
    SubmitError,
    SubmitRateLimited,
    submit_arxiv,
    submit_manual,
)
from paperfeed.community.votes import set_vote
from paperfeed.store.schema import papers
from paperfeed.web.auth_deps import CurrentUserDep, SignedInFormTokenChecked, UserDep
from paperfeed.web.deps import EngineDep, embed_new_paper
from paperfeed.web.paper_page import lookup_for, paper_page
from paperfeed.web.redirects import back_target, safe_next, see_other
from paperfeed.web.request_guards import RowKey
from paperfeed.web.templating import render_page

router = APIRouter(include_in_schema=False, dependencies=[SignedInFormTokenChecked])
# A refused submission's status: too many (429), arXiv not answering (502), else the input (422).
_SUBMIT_STATUS: dict[type[SubmitError], int] = {SubmitRateLimited: 429, ArxivUnavailable: 502}


def paper_path(paper_id: str) -> str:
    return "/papers/" + quote(paper_id, safe="/.-_")


def login_redirect(request: Request, target: str) -> Response:
    """Send an anonymous visitor to the login form, then back to ``target``."""
    login = "/login?next=" + quote(safe_next(target), safe="")
    if request.headers.get("hx-request"):
        # htmx follows HX-Redirect with a full page load.
        headers = {"HX-Redirect": login}
        return PlainTextResponse("Sign in first.", status_code=401, headers=headers)
    return see_other(login)


# --- upvotes and the library ---------------------------------------------------------------


@router.post("/papers/{paper_id:path}/upvote")
def upvote(
    request: Request,
    engine: EngineDep,
    viewer: CurrentUserDep,
    paper_id: str,
    next: Annotated[str | None, Form()] = None,
) -> Response:
    paper = lookup_for(engine, paper_id, viewer)
    target = back_target(request, next, paper_path(paper.id))
    if viewer is None:
        return login_redirect(request, target)
    state = set_vote(engine, viewer.pk, paper.pk)
    if request.headers.get("hx-request"):
        context = {
            "paper_id": paper.id,
            "upvotes": state.upvotes,
            "voted": state.voted,
            "vote_next": target,
        }
        return render_page(request, "_vote.html", context)
    return see_other(target)


@router.post("/papers/{paper_id:path}/save")
def save(
    request: Request,
    engine: EngineDep,
    viewer: CurrentUserDep,
    paper_id: str,
    next: Annotated[str | None, Form()] = None,
    saved: Annotated[str | None, Form()] = None,
) -> Response:
    """Save or unsave (``saved`` = "1" or "0"; toggles when absent)."""
    paper = lookup_for(engine, paper_id, viewer)
    target = back_target(request, next, paper_path(paper.id))
    if viewer is None:
        return login_redirect(request, target)
    want = None if saved is None else saved == "1"
    set_saved(engine, viewer.pk, paper.pk, want)
    return see_other(target)


@router.post("/papers/{paper_id:path}/tags")
def tag_paper(
    request: Request,
    engine: EngineDep,
    viewer: UserDep,
    paper_id: str,
    tags: Annotated[str, Form(max_length=1000)] = "",
    next: Annotated[str | None, Form()] = None,
) -> Response:
    paper = lookup_for(engine, paper_id, viewer)
    try:
        set_tags(engine, viewer.pk, paper.pk, tags_from_field(tags))
    except TagError as error:
        raise HTTPException(400, str(error)) from None
    return see_other(back_target(request, next, "/library"))


@router.get("/library", response_class=HTMLResponse)
def library_page(
    request: Request, engine: EngineDep, viewer: UserDep, tag: str | None = None
) -> HTMLResponse:
    tag = normalise_tag(tag or "")[:64] or None
    context = {
        "entries": library(engine, viewer.pk, tag),
        "tags": user_tags(engine, viewer.pk),
        "tag": tag,
    }
    return render_page(request, "library.html", context)


# --- comments ------------------------------------------------------------------------------


def _comment_anchor(paper_id: str, comment_pk: int | None = None) -> str:
    return paper_path(paper_id) + (f"#comment-{comment_pk}" if comment_pk else "#comments")


@router.post("/papers/{paper_id:path}/comments")
def post_comment(
    request: Request,
    engine: EngineDep,
    viewer: CurrentUserDep,
    paper_id: str,
    body: Annotated[str, Form()] = "",
) -> Response:
    paper = lookup_for(engine, paper_id, viewer)
    if viewer is None:
        return login_redirect(request, _comment_anchor(paper.id))
    try:
        pk = comment_store.add_comment(engine, viewer, paper.pk, body)
    except comment_store.CommentError as error:
        refused = _comment_refused(request, engine, paper.id, str(error), body)
        if isinstance(error, comment_store.CommentRateLimited):
            refused.status_code = 429
            refused.headers["Retry-After"] = str(error.retry_after)
        return refused
    return see_other(_comment_anchor(paper.id, pk))


def _comment_refused(
    request: Request, engine: Engine, paper_id: str, error: str, body: str
) -> Response:
    """The paper page again (400), the reason next to the comment form and the text as typed.

    The paper page builds its own context; the form's error and draft reach ``_community.html``
    on ``request.state`` (as the signed-in user does), so that page takes no parameter that
    only this route uses.
    """
    request.state.comment_error = error
    request.state.comment_draft = body.replace("\x00", "")  # a NUL (refused) has no place in HTML
    response = paper_page(request, engine, paper_id)
    response.status_code = 400
    return response


def _comment_paper_id(engine: Engine, comment_pk: int) -> str:
    """The id of the comment's paper, for the redirect."""
    try:
        paper_pk = comment_store.comment_paper_pk(engine, comment_pk)
    except comment_store.CommentNotFound as error:
        raise HTTPException(404, str(error)) from None
    with engine.connect() as conn:
        paper_id = conn.execute(select(papers.c.id).where(papers.c.pk == paper_pk)).scalar_one()
    return str(paper_id)


@router.post("/comments/{comment_pk}/edit")
def edit_comment(
    engine: EngineDep,
    viewer: UserDep,
    comment_pk: RowKey,
    body: Annotated[str, Form()] = "",
) -> Response:
    paper_id = _comment_paper_id(engine, comment_pk)
    _comment_change(lambda: comment_store.edit_comment(engine, viewer, comment_pk, body))
    return see_other(_comment_anchor(paper_id, comment_pk))


@router.post("/comments/{comment_pk}/delete")
def delete_comment(
    engine: EngineDep,
    viewer: UserDep,
    comment_pk: RowKey,
) -> Response:
    paper_id = _comment_paper_id(engine, comment_pk)
    _comment_change(lambda: comment_store.delete_comment(engine, viewer, comment_pk))
    return see_other(_comment_anchor(paper_id, comment_pk))


@router.post("/comments/{comment_pk}/flag")
def flag_comment(
    engine: EngineDep,
    viewer: UserDep,
    comment_pk: RowKey,
    reason: Annotated[str, Form(max_length=2000)] = "",
) -> Response:
    paper_id = _comment_paper_id(engine, comment_pk)
    _comment_change(lambda: comment_store.flag_comment(engine, viewer, comment_pk, reason))
    return see_other(_comment_anchor(paper_id, comment_pk))


def _comment_change(action: Any) -> None:
    try:
        action()
    except comment_store.NotYourComment as error:
        raise HTTPException(403, str(error)) from None
    except comment_store.CommentNotFound as error:
        raise HTTPException(404, str(error)) from None
    except comment_store.CommentError as error:
        raise HTTPException(400, str(error)) from None


# --- submissions ---------------------------------------------------------------------------


def _submit_context(error: str | None = None, **values: str) -> dict[str, Any]:
    fields = ("arxiv_id", "title", "abstract", "authors", "url", "mode")
    form = {name: values.get(name, "") for name in fields}
    return {"error": error, "form": form, "daily_limit": NEW_ACCOUNT_DAILY_LIMIT, "already": None}


@router.get("/submit", response_class=HTMLResponse)
def submit_form(request: Request, viewer: CurrentUserDep) -> Response:
    if viewer is None:
        return login_redirect(request, "/submit")
    return render_page(request, "submit.html", _submit_context())


@router.post("/submit")
def submit(
    request: Request,
    engine: EngineDep,
    viewer: UserDep,
    mode: Annotated[str, Form(max_length=16)] = "arxiv",
    arxiv_id: Annotated[str, Form(max_length=2000)] = "",
    title: Annotated[str, Form(max_length=5000)] = "",
    abstract: Annotated[str, Form(max_length=50_000)] = "",
    authors: Annotated[str, Form(max_length=50_000)] = "",
    url: Annotated[str, Form(max_length=2000)] = "",
) -> Response:
    values = {"arxiv_id": arxiv_id, "title": title, "abstract": abstract}
    values |= {"authors": authors, "url": url, "mode": mode}
    settings = request.app.state.settings
    try:
        if mode == "manual":
            done = submit_manual(engine, viewer, title, abstract, authors, url)
        else:
            done = submit_arxiv(engine, settings, viewer, arxiv_id)
    except SubmitError as error:
        status = _SUBMIT_STATUS.get(type(error), 422)
        response = render_page(
            request, "submit.html", _submit_context(str(error), **values), status
        )
        if isinstance(error, SubmitRateLimited):
            response.headers["Retry-After"] = str(error.retry_after)
        return response
    if done.hidden and not viewer.is_admin:
        message = "This paper is already here but was hidden by the moderators."
        return render_page(request, "submit.html", _submit_context(message, **values), 409)
    if not done.created:  # said on the form: the paper is here already, nothing was added
        context = _submit_context(**values) | {"already": paper_path(done.paper_id)}
        return render_page(request, "submit.html", context)
    embed_new_paper(request, engine, done.paper_pk)
    return see_other(paper_path(done.paper_id))
