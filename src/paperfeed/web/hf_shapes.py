"""Hugging Face's shapes of a paper (``paper``, a daily-papers entry, a user), shared by the
daily papers, paper info and search answers (``hf_api.py``, ``api.py``); their schemas are
``api_models.py``."""

from __future__ import annotations

from datetime import date
from typing import Any

from paperfeed.web import queries


def hf_datetime(day: date | None) -> str | None:
    """A day in the one format Hugging Face sends and ``huggingface_hub`` parses."""
    return f"{day.isoformat()}T00:00:00.000Z" if day else None


def user_object(name: str | None) -> dict[str, Any] | None:
    """A submitter as Hugging Face describes a user (``huggingface_hub.User`` reads ``user``)."""
    if not name:
        return None
    return {"user": name, "name": name, "fullname": name, "avatarUrl": "", "type": "user"}


def paper_object(item: queries.ListedPaper, base_url: str) -> dict[str, Any]:
    """The ``paper`` object of Hugging Face's answers, with paperfeed's fields."""
    paper = item.paper
    links = {link.kind: link for link in paper.links}
    code = links.get("code")
    project = links.get("project")
    return {
        "id": paper.id,
        "title": paper.title,
        "summary": paper.abstract,
        "authors": [{"name": name, "hidden": False} for name in paper.authors],
        "publishedAt": hf_datetime(paper.published),
        # When it went on the daily list (none for a paper never featured), as on the Hub.
        "submittedOnDailyAt": hf_datetime(paper.featured_day),
        "upvotes": item.upvotes,
        "numComments": item.comments,
        "discussionId": paper.id,
        "githubRepo": code.url if code else None,
        "githubStars": code.stars if code else None,
        "projectPage": project.url if project else None,
        # Hugging Face's machine-written summary and keywords, when an import brought them.
        "ai_summary": paper.ai_summary,
        "ai_keywords": paper.ai_keywords or None,
        "categories": paper.categories,
        "doi": paper.doi,
        "url": f"{base_url.rstrip('/')}/papers/{paper.id}",
        "isNew": item.is_new,
        "trending": {"score": item.score, **item.terms},
    }


def daily_item(item: queries.ListedPaper, base_url: str, submitter: str | None) -> dict[str, Any]:
    """One entry of ``/api/daily_papers``: ``{paper: {...}, title, summary, publishedAt, ...}``."""
    paper = paper_object(item, base_url)
    user = user_object(submitter)
    if user is not None:
        paper["submittedOnDailyBy"] = user
    entry: dict[str, Any] = {
        "paper": paper,
        "title": item.paper.title,
        "summary": item.paper.abstract,
        "publishedAt": hf_datetime(item.day),
        "numComments": item.comments,
        "isAuthorParticipating": False,
        # huggingface_hub's PaperInfo reads these at the top level, not in ``paper``.
        "upvotes": item.upvotes,
        "githubRepo": paper["githubRepo"],
        "githubStars": paper["githubStars"],
        "projectPage": paper["projectPage"],
        "ai_summary": paper["ai_summary"],
        "ai_keywords": paper["ai_keywords"],
        "source": "paperfeed",
    }
    if user is not None:
        entry["submittedBy"] = user
    return entry
