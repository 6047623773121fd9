"""The library over JSON, for scripts: list (by tag), save with tags, unsave.

Authenticated like the rest of the write API (session or ``Authorization: Bearer``). Tags are
what "for you" learns from: each tag gets its own classifier.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, HTTPException, Query
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, Field

from paperfeed.community.library import (
    MAX_TAGS,
    TagError,
    clean_tags,
    library,
    set_saved,
    set_tags,
    user_tags,
)
from paperfeed.community.paper_context import PaperRef, find_paper
from paperfeed.web.api_models import NEEDS_USER
from paperfeed.web.auth_deps import SignedInFormTokenChecked, UserDep
from paperfeed.web.deps import EngineDep

router = APIRouter(
    prefix="/api/library", dependencies=[SignedInFormTokenChecked], responses=NEEDS_USER
)


class LibraryPaper(BaseModel):
    id: str
    title: str
    saved_at: datetime
    tags: list[str]


class TagsIn(BaseModel):
    tags: list[str] = Field(
        default_factory=list, max_length=MAX_TAGS, description="The paper's tags (replaced)."
    )


class Saved(BaseModel):
    id: str
    saved: bool
    tags: list[str]


def _paper(engine: EngineDep, paper_id: str) -> PaperRef:
    with engine.connect() as conn:
        found = find_paper(conn, paper_id)
    if found is None or found.hidden:
        raise HTTPException(404, f"No paper with id {paper_id!r}.")
    return found


@router.get("")
def list_library(
    engine: EngineDep,
    user: UserDep,
    tag: Annotated[str | None, Query(max_length=64, description="Only this tag.")] = None,
) -> list[LibraryPaper]:
    """The signed-in user's saved papers, most recently saved first."""
    return [
        LibraryPaper(id=e.paper.id, title=e.paper.title, saved_at=e.saved_at, tags=e.tags)
        for e in library(engine, user.pk, tag)
    ]


@router.get("/tags")
def list_tags(engine: EngineDep, user: UserDep) -> list[str]:
    """The signed-in user's tags."""
    return user_tags(engine, user.pk)


@router.put("/{paper_id:path}")
def save_paper(engine: EngineDep, user: UserDep, paper_id: str, body: TagsIn) -> Saved:
    """Save a paper to the library with these tags (replacing its tags if already saved)."""
    paper = _paper(engine, paper_id)
    try:
        # Each item is one tag, as in the form's comma-separated field ("flow matching" is
        # the tag flow-matching); a comma inside an item still separates.
        tags = clean_tags(part for tag in body.tags for part in tag.split(","))
    except TagError as error:
        # FastAPI's own 422 shape, the one the OpenAPI schema documents.
        detail = {
            "type": "value_error",
            "loc": ("body", "tags"),
            "msg": str(error),
            "input": body.tags,
        }
        raise RequestValidationError([detail]) from None
    set_tags(engine, user.pk, paper.pk, tags)
    return Saved(id=paper.id, saved=True, tags=tags)


@router.delete("/{paper_id:path}")
def unsave_paper(engine: EngineDep, user: UserDep, paper_id: str) -> Saved:
    """Remove a paper (and its tags) from the library."""
    paper = _paper(engine, paper_id)
    set_saved(engine, user.pk, paper.pk, want=False)
    return Saved(id=paper.id, saved=False, tags=[])
