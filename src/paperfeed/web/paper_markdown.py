"""A paper as Markdown: ``/papers/<id>.md`` (what ``HfApi.read_paper`` reads) and the MCP
``get_paper`` tool. Title, authors, dates, links, abstract and the discussion, as a reader (or
a language model) wants them, in one plain text."""

from __future__ import annotations

from sqlalchemy import Engine

from paperfeed.community.comments import CommentView, list_comments
from paperfeed.community.paper_context import submitted_by
from paperfeed.web import queries
from paperfeed.web.citation import paper_links


def _facts(item: queries.ListedPaper, submitter: str | None) -> list[str]:
    paper = item.paper
    facts = []
    if paper.published:
        facts.append(f"**Published:** {paper.published.isoformat()}")
    if paper.updated and paper.updated != paper.published:
        facts.append(f"**Updated:** {paper.updated.isoformat()}")
    if item.day:
        facts.append(f"**Featured:** {item.day.isoformat()}")
    if paper.categories:
        facts.append(f"**Categories:** {', '.join(paper.categories)}")
    if paper.journal_ref:
        facts.append(f"**Journal:** {paper.journal_ref}")
    if submitter:
        facts.append(f"**Submitted by:** {submitter}")
    facts.append(f"**Upvotes:** {item.upvotes}")
    return facts


def _discussion(comments: list[CommentView]) -> list[str]:
    shown = [c for c in comments if c.visible]
    lines = [f"## Discussion ({len(shown)} {'comment' if len(shown) == 1 else 'comments'})", ""]
    if not shown:
        return [*lines, "No comments yet.", ""]
    for comment in shown:
        when = comment.created_at.strftime("%Y-%m-%d %H:%M UTC")
        lines += [f"### {comment.author} · {when}", "", comment.body.strip(), ""]
    return lines


def paper_markdown(
    item: queries.ListedPaper,
    base_url: str,
    comments: list[CommentView],
    submitter: str | None = None,
) -> str:
    """The paper as Markdown: title, authors, facts, links, abstract, comment, discussion."""
    paper = item.paper
    lines = [f"# {paper.title}", ""]
    if paper.authors:
        lines += [f"**Authors:** {', '.join(paper.authors)}", ""]
    lines += ["  \n".join(_facts(item, submitter)), ""]
    links = [*paper_links(paper), ("paperfeed", f"{base_url.rstrip('/')}/papers/{paper.id}")]
    lines += [" · ".join(f"[{label}](<{url}>)" for label, url in links), ""]
    lines += ["## Abstract", "", paper.abstract, ""]
    if paper.comment:
        lines += [f"*Comment:* {paper.comment}", ""]
    lines += _discussion(comments)
    return "\n".join(lines)


def read_paper(engine: Engine, paper_pk: int, base_url: str) -> str | None:
    """The visible paper ``paper_pk`` as Markdown, or None when there is none."""
    item = queries.paper_detail(engine, paper_pk)
    if item is None:
        return None
    with engine.connect() as conn:
        submitter = submitted_by(conn, paper_pk) or item.paper.submitter
    return paper_markdown(item, base_url, list_comments(engine, paper_pk), submitter)
