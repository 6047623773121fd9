"""Response models of the Hugging Face-compatible JSON API (``hf_api.py``, ``api.py``).

Field names are Hugging Face's (camelCase), since ``huggingface_hub`` reads them; paperfeed's
own fields sit beside them. ``/docs`` shows these schemas, and FastAPI checks every answer
against them.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field


class ErrorOut(BaseModel):
    status: str = "error"
    detail: str


# The answer of a route that needs a signed-in user (session or API token): /docs puts the
# token scheme (the Authorize button) on every operation that lists it (web/openapi.py).
NEEDS_USER: dict[int | str, dict[str, Any]] = {
    401: {"model": ErrorOut, "description": "Not signed in, or the API token is not valid."}
}


class HfAuthor(BaseModel):
    name: str
    hidden: bool = False


class HfUser(BaseModel):
    """A user as Hugging Face describes one (``huggingface_hub.User`` reads ``user``)."""

    user: str
    name: str
    fullname: str
    avatarUrl: str = ""
    type: str = "user"


class TrendingTerms(BaseModel):
    """The trending score and the terms it is made of ("why it is trending")."""

    model_config = {"extra": "allow"}  # as_of, half_life_hours... as the formula records

    score: float
    terms: dict[str, dict[str, Any]] = Field(
        default_factory=dict, description="{name: {count, points}} per term of the formula."
    )


class HfPaper(BaseModel):
    """The ``paper`` object of Hugging Face's answers, with paperfeed's fields."""

    id: str = Field(description="An arXiv id, or paperfeed's id for a paper without one.")
    title: str
    summary: str = Field(description="The abstract, as the source wrote it (LaTeX included).")
    authors: list[HfAuthor]
    publishedAt: str | None = Field(description="First publication (arXiv v1), ISO 8601.")
    submittedOnDailyAt: str | None = Field(description="The day it was featured here.")
    submittedOnDailyBy: HfUser | None = None
    upvotes: int
    numComments: int
    discussionId: str | None = Field(
        default=None, description="Where the discussion is: the paper's id here."
    )
    githubRepo: str | None
    githubStars: int | None
    projectPage: str | None
    ai_summary: str | None = Field(
        default=None, description="Hugging Face's AI-written summary, when imported from there."
    )
    ai_keywords: list[str] | None = Field(
        default=None, description="Hugging Face's AI-extracted keywords, when imported."
    )
    categories: list[str]
    doi: str | None
    url: str = Field(description="The paper's page on this site.")
    isNew: bool = Field(description="First seen here in the last 24 hours.")
    trending: TrendingTerms
    source: str = "paperfeed"


class DailyPaper(BaseModel):
    """One entry of ``/api/daily_papers`` (what ``HfApi.list_daily_papers`` reads)."""

    paper: HfPaper
    title: str
    summary: str
    publishedAt: str | None = Field(description="The day it was featured here.")
    numComments: int
    isAuthorParticipating: bool = False
    upvotes: int
    githubRepo: str | None
    githubStars: int | None
    projectPage: str | None
    ai_summary: str | None = None
    ai_keywords: list[str] | None = None
    submittedBy: HfUser | None = None
    source: str = "paperfeed"


class Highlight(BaseModel):
    title: str = Field(description="Safe HTML: the title with <mark> around query words.")
    snippet: str = Field(description="Safe HTML: the abstract's best passage, marked.")


class SearchItem(DailyPaper):
    """One search hit (``HfApi.list_papers``), with its score and how each stage ranked it."""

    id: str
    categories: list[str]
    score: float
    stages: dict[str, Any]
    highlight: Highlight


class TrendingItem(BaseModel):
    """One paper of ``/api/trending`` and the terms of its score."""

    model_config = {"extra": "allow"}  # the formula's record (as_of, half_life_hours...)

    rank: int
    id: str
    title: str
    score: float
    upvotes: int
    numComments: int
    url: str
    terms: dict[str, dict[str, Any]] = Field(default_factory=dict)


class SimilarItem(BaseModel):
    id: str
    title: str
    score: float = Field(description="Cosine similarity of the abstracts' embeddings.")
