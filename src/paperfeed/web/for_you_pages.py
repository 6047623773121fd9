""" "For you": the page, its JSON twin, 👍/👎 feedback, cold-start categories, digest links.

``/for-you`` and ``/api/for-you`` call ``paperfeed.rank.for_you.recommend``; every item carries
its reason. Feedback is a POST (form with csrf_token, htmx-aware, or JSON with an API token);
the signed links in digest emails open ``/feedback/<token>``, whose GET only shows a button.
"""

from __future__ import annotations

from collections import Counter
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Form, HTTPException, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import BaseModel, Field

from paperfeed.rank import feedback
from paperfeed.rank.for_you import POOLS, ForYou, recommend
from paperfeed.web.api_models import NEEDS_USER
from paperfeed.web.auth_deps import FormTokenChecked, SignedInFormTokenChecked, UserDep
from paperfeed.web.deps import EngineDep
from paperfeed.web.redirects import back_target
from paperfeed.web.templating import render_page

router = APIRouter(dependencies=[SignedInFormTokenChecked])
pages = APIRouter(include_in_schema=False, dependencies=[FormTokenChecked])

PAGE_LIMIT = 30
CATEGORY_CHOICES = 30


def _secret(request: Request) -> str:
    secret: str = request.app.state.settings.resolved_secret_key()
    return secret


def _popular_categories(request: Request, engine: Any) -> list[tuple[str, int]]:
    settings = request.app.state.settings
    with engine.connect() as conn:
        pool = POOLS.get(conn, settings.embedding_model, settings.for_you_window_days)
    counts = Counter(category for category in pool.categories if category)
    return counts.most_common(CATEGORY_CHOICES)


@pages.get("/for-you", response_class=HTMLResponse)
def for_you_page(
    request: Request, engine: EngineDep, user: UserDep, tag: str | None = None
) -> Response:
    settings = request.app.state.settings
    result = recommend(engine, user.pk, limit=PAGE_LIMIT, tag=tag, settings=settings)
    if tag is not None and tag not in result.tag_sizes:
        raise HTTPException(404, f"You have no tag {tag!r}.")
    context = {
        "result": result,
        "items": result.papers,
        "tag": tag,
        "categories": _popular_categories(request, engine) if result.cold_start else [],
    }
    return render_page(request, "for_you.html", context)


@pages.post("/for-you/feedback")
def feedback_form(
    request: Request,
    engine: EngineDep,
    user: UserDep,
    paper_id: Annotated[str, Form(max_length=64)],
    vote: Annotated[Literal["up", "down"], Form()],
    tag: Annotated[str, Form(max_length=80)] = "",
    next: Annotated[str, Form()] = "",
) -> Response:
    try:
        feedback.record_feedback(engine, user.pk, paper_id, feedback.VALUES[vote], tag)
    except feedback.FeedbackError as error:
        raise HTTPException(404, str(error)) from None
    if request.headers.get("hx-request"):
        return render_page(request, "_feedback_done.html", {"vote": vote})
    return RedirectResponse(back_target(request, next, "/for-you"), status_code=303)


@pages.post("/for-you/categories")
def categories_form(
    engine: EngineDep,
    user: UserDep,
    category: Annotated[list[str] | None, Form(max_length=64)] = None,
) -> Response:
    try:
        feedback.set_categories(engine, user.pk, category or [])
    except feedback.FeedbackError as error:
        raise HTTPException(422, str(error)) from None
    return RedirectResponse("/for-you", status_code=303)


@pages.get("/feedback/{token}", response_class=HTMLResponse)
def feedback_link(request: Request, engine: EngineDep, token: str) -> Response:
    """A digest's 👍/👎 link: shows what it will record and a button; records nothing."""
    vote = _read_link(request, token)
    return render_page(request, "feedback_link.html", {"vote": vote, "token": token, "done": False})


@pages.post("/feedback/{token}", response_class=HTMLResponse)
def feedback_link_confirm(request: Request, engine: EngineDep, token: str) -> Response:
    vote = _read_link(request, token)
    try:
        feedback.record_feedback(engine, vote.user_pk, vote.paper_id, vote.value, vote.tag)
    except feedback.FeedbackError as error:
        raise HTTPException(404, str(error)) from None
    return render_page(request, "feedback_link.html", {"vote": vote, "token": token, "done": True})


def _read_link(request: Request, token: str) -> feedback.FeedbackToken:
    try:
        return feedback.read_feedback_token(_secret(request), token)
    except feedback.FeedbackError as error:
        raise HTTPException(400, str(error)) from None


class FeedbackIn(BaseModel):
    paper_id: str = Field(max_length=64, description="The recommended paper's id.")
    vote: Literal["up", "down"]
    tag: str = Field(default="", max_length=80, description="The tag it was recommended from.")


class FeedbackOut(BaseModel):
    paper_id: str
    vote: Literal["up", "down"]
    tag: str


def for_you_json(result: ForYou) -> dict[str, Any]:
    return {
        "cold_start": result.cold_start,
        "tags": dict(sorted(result.tag_sizes.items())),
        "tag": result.tag,
        "papers": [item.as_json() for item in result.papers],
    }


@router.get("/api/for-you", responses=NEEDS_USER)
def for_you_api(
    request: Request,
    engine: EngineDep,
    user: UserDep,
    tag: Annotated[
        str | None, Query(max_length=80, description="One tag; all when absent.")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=100, description="Papers to return.")] = 20,
) -> dict[str, Any]:
    """Recent papers ranked for the signed-in user, each with why it is recommended."""
    settings = request.app.state.settings
    return for_you_json(recommend(engine, user.pk, limit=limit, tag=tag, settings=settings))


@router.post("/api/for-you/feedback", responses=NEEDS_USER)
def feedback_api(engine: EngineDep, user: UserDep, body: FeedbackIn) -> FeedbackOut:
    """Record 👍 (`up`) or 👎 (`down`) on a recommended paper; it trains that tag."""
    try:
        feedback.record_feedback(
            engine, user.pk, body.paper_id, feedback.VALUES[body.vote], body.tag
        )
    except feedback.FeedbackError as error:
        raise HTTPException(404, str(error)) from None
    return FeedbackOut(paper_id=body.paper_id, vote=body.vote, tag=body.tag.strip()[:80])
