"""Code and project links that people add to a paper (Hugging Face's ``githubRepo`` and
``projectPage``): who may, what a valid address is, and the write.

They are the same ``paper_links`` rows ingest writes (kinds ``code`` and ``project``), so
``has:code`` in search, the code link and stars in lists, and trending's star growth all read
them. A new repository address drops the star count, which belonged to the old one; a later
import that knows the repository's stars fills it in again.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import urlsplit

from sqlalchemy import Connection, Engine, delete, insert, select

from paperfeed.community.users import User
from paperfeed.store.community_schema import submissions
from paperfeed.store.engine import write_transaction
from paperfeed.store.schema import paper_links

MAX_URL = 2000
# GitHub's rules: owner 1-39 letters, digits or inner hyphens; repository letters, digits,
# ".", "-", "_" (not "." or "..").
_OWNER = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,37}[A-Za-z0-9])?")
_REPO = re.compile(r"[A-Za-z0-9._-]{1,100}")


class LinkError(ValueError):
    """An address that cannot be stored; the message names the field and the reason."""


class NotAllowed(PermissionError):
    """The user may not change this paper's links."""


@dataclass(frozen=True, slots=True)
class PaperCodeLinks:
    github_repo: str | None
    github_stars: int | None
    project_page: str | None


def github_repo(raw: str) -> str:
    """``raw`` as ``https://github.com/<owner>/<repo>``, or LinkError saying what is wrong."""
    text = raw.strip()
    if len(text) > MAX_URL or not text.isprintable() or " " in text:
        raise LinkError("githubRepo: not a web address (spaces or control characters).")
    parts = urlsplit(text)
    if parts.scheme != "https" or (parts.hostname or "").lower() not in ("github.com",):
        raise LinkError(
            "githubRepo: give the repository's https://github.com/<owner>/<repo> address."
        )
    if parts.username or parts.password or parts.port or parts.query or parts.fragment:
        raise LinkError("githubRepo: give the repository's address alone, without ? or #.")
    segments = [s for s in parts.path.split("/") if s]
    if len(segments) != 2:
        raise LinkError("githubRepo: the address must name one repository: /<owner>/<repo>.")
    owner, repo = segments[0], segments[1].removesuffix(".git")
    if not _OWNER.fullmatch(owner) or not _REPO.fullmatch(repo) or repo in (".", ".."):
        raise LinkError(f"githubRepo: “{owner}/{repo}” is not a GitHub owner/repository name.")
    return f"https://github.com/{owner}/{repo}"


def project_page(raw: str) -> str:
    """``raw`` if it is an http(s) address of a named host, else LinkError."""
    text = raw.strip()
    if len(text) > MAX_URL or not text.isprintable() or " " in text:
        raise LinkError("projectPage: not a web address (spaces or control characters).")
    parts = urlsplit(text)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise LinkError("projectPage: give an http:// or https:// address.")
    if parts.username or parts.password:
        raise LinkError("projectPage: the address must not hold a user name or password.")
    return text


def may_edit(conn: Connection, user: User, paper_pk: int) -> bool:
    """Admins, and whoever submitted the paper here. (paperfeed has no author claims yet, so
    an author who did not submit the paper asks its submitter or an admin.)"""
    if user.is_admin:
        return True
    query = select(submissions.c.pk).where(
        submissions.c.paper_pk == paper_pk, submissions.c.user_pk == user.pk
    )
    return conn.execute(query.limit(1)).first() is not None


def read_links(conn: Connection, paper_pk: int) -> PaperCodeLinks:
    rows = conn.execute(
        select(paper_links.c.kind, paper_links.c.url, paper_links.c.stars).where(
            paper_links.c.paper_pk == paper_pk, paper_links.c.kind.in_(("code", "project"))
        )
    ).all()
    found = {row.kind: row for row in rows}
    code, project = found.get("code"), found.get("project")
    return PaperCodeLinks(
        github_repo=code.url if code else None,
        github_stars=code.stars if code else None,
        project_page=project.url if project else None,
    )


def _write(conn: Connection, paper_pk: int, kind: str, url: str, stars: int | None) -> None:
    where = (paper_links.c.paper_pk == paper_pk) & (paper_links.c.kind == kind)
    conn.execute(delete(paper_links).where(where))
    if url:
        row = {"paper_pk": paper_pk, "kind": kind, "url": url, "stars": stars}
        conn.execute(insert(paper_links).values(row))


def set_links(
    engine: Engine,
    user: User,
    paper_pk: int,
    *,
    github: str | None = None,
    project: str | None = None,
) -> PaperCodeLinks:
    """Set the paper's repository and/or project page (None: leave it; "": remove it).

    Both addresses are checked before anything is written (LinkError); NotAllowed for a user
    who is neither an admin nor the paper's submitter."""
    repo = github_repo(github) if github else github
    page = project_page(project) if project else project
    with write_transaction(engine) as conn:
        if not may_edit(conn, user, paper_pk):
            raise NotAllowed("Only the paper's submitter or an admin can change its links.")
        current = read_links(conn, paper_pk)
        if repo is not None:
            same = repo == current.github_repo
            _write(conn, paper_pk, "code", repo, current.github_stars if same else None)
        if page is not None:
            _write(conn, paper_pk, "project", page, None)
        return read_links(conn, paper_pk)
