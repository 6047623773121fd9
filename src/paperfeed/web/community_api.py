"""Authenticated JSON write endpoints: upvote, comment and submit, for scripts and apps.

Authenticate with ``Authorization: Bearer <API token>`` (create one on your account page) or a
signed-in session. Token requests need no CSRF token; session requests must send this browser's
form token in an ``X-CSRF-Token`` header. Errors are JSON: ``{"status": "error", "detail": ...}``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Body, HTTPException, Request, Response
from pydantic import BaseModel, Field
from sqlalchemy import Engine

from paperfeed.community import comments as comment_store
from paperfeed.community.comments import MAX_COMMENT_CHARS, CommentView
from paperfeed.community.links import LinkError, NotAllowed, set_links
from paperfeed.community.submit import (
    ArxivUnavailable,
    SubmitError,
    SubmitRateLimited,
    submit_arxiv,
    submit_manual,
)
from paperfeed.community.users import User
from paperfeed.community.votes import set_vote
from paperfeed.web.auth_deps import CurrentUserDep, SignedInFormTokenChecked, UserDep
from paperfeed.web.deps import EngineDep, embed_new_paper
from paperfeed.web.paper_page import lookup_for

router = APIRouter(prefix="/api", tags=["community"], dependencies=[SignedInFormTokenChecked])

Responses = dict[int | str, dict[str, Any]]


class ErrorOut(BaseModel):
    status: str = "error"
    detail: str


def _error(description: str) -> dict[str, Any]:
    return {"model": ErrorOut, "description": description}


AUTH: Responses = {
    401: _error("Not signed in, or the API token is not valid."),
    403: _error("A session request without its X-CSRF-Token header, or a cross-site request."),
}
NOT_FOUND: Responses = {404: _error("No such paper.")}
ERRORS = AUTH


class UpvoteIn(BaseModel):
    upvoted: bool = Field(description="true to upvote, false to take the upvote back.")


class UpvoteOut(BaseModel):
    paper_id: str
    upvoted: bool = Field(description="Whether you now upvote the paper.")
    upvotes: int = Field(description="The paper's upvotes after the change.")


class CommentIn(BaseModel):
    body: str = Field(
        min_length=1, max_length=MAX_COMMENT_CHARS, description="The comment, in Markdown."
    )


class CommentOut(BaseModel):
    id: int
    paper_id: str
    author: str
    body: str = Field(description="Markdown source; empty when deleted or hidden.")
    html: str = Field(description="The comment as the site shows it (sanitised HTML).")
    created_at: datetime
    edited_at: datetime | None
    deleted: bool
    hidden: bool


class SubmitIn(BaseModel):
    arxiv_id: str | None = Field(
        default=None, max_length=2000, description="An arXiv id or arXiv URL."
    )
    title: str | None = Field(default=None, max_length=5000)
    abstract: str | None = Field(default=None, max_length=50_000)
    authors: list[str] = Field(default_factory=list, max_length=1000)
    url: str | None = Field(default=None, max_length=2000)


class SubmitOut(BaseModel):
    paper_id: str
    created: bool = Field(description="false when the paper was already here.")
    url: str = Field(description="The paper's page on this site.")


class LinksIn(BaseModel):
    """Hugging Face's field names. Leave a field out (or null) to keep it; "" removes it."""

    githubRepo: str | None = Field(
        default=None,
        max_length=2000,
        description="https://github.com/<owner>/<repo>",
        examples=["https://github.com/karpathy/nanoGPT"],
    )
    projectPage: str | None = Field(
        default=None, max_length=2000, description="An http(s) address of the project's page."
    )


class LinksOut(BaseModel):
    paper_id: str
    githubRepo: str | None
    githubStars: int | None = Field(description="Stars, when an import has counted them.")
    projectPage: str | None


def _vote(engine: Engine, user: User, paper_id: str, want: bool | None) -> UpvoteOut:
    paper = lookup_for(engine, paper_id, user)
    state = set_vote(engine, user.pk, paper.pk, want)
    return UpvoteOut(paper_id=paper.id, upvoted=state.voted, upvotes=state.upvotes)


@router.post(
    "/papers/{paper_id:path}/upvote",
    responses={**ERRORS, **NOT_FOUND},
    summary="Upvote a paper (toggle, or set with upvoted)",
)
def api_upvote(
    engine: EngineDep,
    user: UserDep,
    paper_id: str,
    body: Annotated[UpvoteIn | None, Body()] = None,
) -> UpvoteOut:
    """Without a body, toggles your upvote; with ``{"upvoted": true|false}``, sets it."""
    return _vote(engine, user, paper_id, None if body is None else body.upvoted)


@router.delete(
    "/papers/{paper_id:path}/upvote",
    responses={**ERRORS, **NOT_FOUND},
    summary="Take your upvote back",
)
def api_unvote(engine: EngineDep, user: UserDep, paper_id: str) -> UpvoteOut:
    return _vote(engine, user, paper_id, False)


@router.post(
    "/papers/{paper_id:path}/unvote",
    operation_id="unvote_with_post",
    responses={**ERRORS, **NOT_FOUND},
    summary="Take your upvote back (POST form of DELETE .../upvote)",
)
def api_unvote_post(engine: EngineDep, user: UserDep, paper_id: str) -> UpvoteOut:
    return _vote(engine, user, paper_id, False)


def _comment_out(paper_id: str, view: CommentView) -> CommentOut:
    return CommentOut(
        id=view.pk,
        paper_id=paper_id,
        author=view.author,
        body=view.body,
        html=str(view.html),
        created_at=view.created_at,
        edited_at=view.edited_at,
        deleted=view.deleted,
        hidden=view.hidden,
    )


@router.get(
    "/papers/{paper_id:path}/comments",
    responses={**ERRORS, **NOT_FOUND},
    summary="A paper's comments, oldest first",
)
def api_comments(engine: EngineDep, viewer: CurrentUserDep, paper_id: str) -> list[CommentOut]:
    paper = lookup_for(engine, paper_id, viewer)
    views = comment_store.list_comments(engine, paper.pk, viewer)
    return [_comment_out(paper.id, view) for view in views]


@router.post(
    "/papers/{paper_id:path}/comments",
    status_code=201,
    responses={
        **ERRORS,
        **NOT_FOUND,
        400: _error("The comment cannot be stored; detail says why."),
        429: _error("Too many comments from this account; see Retry-After."),
    },
    summary="Comment on a paper",
)
def api_add_comment(
    engine: EngineDep, user: UserDep, paper_id: str, comment: CommentIn
) -> CommentOut:
    paper = lookup_for(engine, paper_id, user)
    try:
        pk = comment_store.add_comment(engine, user, paper.pk, comment.body)
    except comment_store.CommentRateLimited as error:
        raise HTTPException(
            429, str(error), headers={"Retry-After": str(error.retry_after)}
        ) from None
    except comment_store.CommentError as error:
        raise HTTPException(400, str(error)) from None
    return _comment_out(paper.id, comment_store.get_comment(engine, pk, user))


@router.post(
    "/submit",
    status_code=201,
    responses={
        200: {"model": SubmitOut, "description": "The paper was already here: nothing added."},
        **ERRORS,
        400: _error("The submission was refused (bad id, unknown to arXiv, missing fields)."),
        429: _error("New accounts' daily limit reached; see Retry-After."),
        502: _error("arXiv could not be reached; try again later."),
    },
    summary="Submit a paper by arXiv id, or by title and abstract",
)
def api_submit(
    request: Request, response: Response, engine: EngineDep, user: UserDep, submission: SubmitIn
) -> SubmitOut:
    """Give ``arxiv_id`` (metadata comes from arXiv) or ``title`` and ``abstract`` (with
    optional ``authors`` and ``url``). A paper already here is found, not copied: 200 with
    ``created: false``, and the submission is not credited."""
    settings = request.app.state.settings
    try:
        if submission.arxiv_id:
            done = submit_arxiv(engine, settings, user, submission.arxiv_id)
        elif submission.title or submission.abstract:
            done = submit_manual(
                engine,
                user,
                submission.title or "",
                submission.abstract or "",
                submission.authors,
                submission.url or "",
            )
        else:
            raise SubmitError("Give arxiv_id, or title and abstract.")
    except SubmitRateLimited as error:
        raise HTTPException(
            429, str(error), headers={"Retry-After": str(error.retry_after)}
        ) from None
    except ArxivUnavailable as error:
        raise HTTPException(502, str(error)) from None
    except SubmitError as error:
        raise HTTPException(400, str(error)) from None
    if done.created:
        embed_new_paper(request, engine, done.paper_pk)
    else:
        response.status_code = 200
    return SubmitOut(paper_id=done.paper_id, created=done.created, url=f"/papers/{done.paper_id}")


@router.post(
    "/papers/{paper_id:path}/links",
    responses={
        **ERRORS,
        **NOT_FOUND,
        400: _error("An address that cannot be used; detail names the field and why."),
        403: _error("Not the paper's submitter or an admin (or a cross-site request)."),
    },
    summary="Set a paper's code repository and project page",
)
def api_links(engine: EngineDep, user: UserDep, paper_id: str, links: LinksIn) -> LinksOut:
    """The paper's submitter or an admin sets ``githubRepo`` and/or ``projectPage`` (the shape
    of Hugging Face's ``POST /api/papers/{id}/links``). ``has:code`` searches find the paper
    once it has a repository."""
    paper = lookup_for(engine, paper_id, user)
    try:
        done = set_links(engine, user, paper.pk, github=links.githubRepo, project=links.projectPage)
    except LinkError as error:
        raise HTTPException(400, str(error)) from None
    except NotAllowed as error:
        raise HTTPException(403, str(error)) from None
    return LinksOut(
        paper_id=paper.id,
        githubRepo=done.github_repo,
        githubStars=done.github_stars,
        projectPage=done.project_page,
    )
