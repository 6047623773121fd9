"""Code and project links: which addresses are accepted (and why not), who may set them, and
that they land in the rows has:code and the lists read."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import Engine, insert

from paperfeed.community.links import (
    LinkError,
    NotAllowed,
    github_repo,
    project_page,
    set_links,
)
from paperfeed.domain import Link, PaperRecord
from paperfeed.store.community_schema import submissions
from paperfeed.store.engine import write_transaction
from paperfeed.web import queries
from tests.factories import add_papers, add_user, load_user


@pytest.mark.parametrize(
    ("raw", "clean"),
    [
        ("https://github.com/karpathy/nanoGPT", "https://github.com/karpathy/nanoGPT"),
        ("  https://github.com/o-w/r.e_p-o.git ", "https://github.com/o-w/r.e_p-o"),
        ("https://GitHub.com/owner/repo/", "https://github.com/owner/repo"),
    ],
)
def test_github_repositories_are_normalised(raw: str, clean: str) -> None:
    assert github_repo(raw) == clean


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        ("http://github.com/o/r", "https://github.com/<owner>/<repo>"),
        ("https://gitlab.com/o/r", "https://github.com/<owner>/<repo>"),
        ("https://github.com.evil.test/o/r", "https://github.com/<owner>/<repo>"),
        ("https://github.com/o", "one repository"),
        ("https://github.com/o/r/tree/main", "one repository"),
        ("https://github.com/o/r?tab=readme", "without ? or #"),
        ("https://user:pw@github.com/o/r", "without ? or #"),
        ("https://github.com/-o/r", "not a GitHub owner/repository"),
        ("https://github.com/o/..", "not a GitHub owner/repository"),
        ("javascript:alert(1)", "https://github.com/<owner>/<repo>"),
        ("https://github.com/o/r\x00", "control characters"),
    ],
)
def test_bad_repositories_say_what_is_wrong(raw: str, reason: str) -> None:
    with pytest.raises(LinkError, match="githubRepo") as error:
        github_repo(raw)
    assert reason in str(error.value)


@pytest.mark.parametrize(
    "raw", ["javascript:alert(1)", "ftp://x.org/", "https:///nohost", "//x.org", "https://a b.org"]
)
def test_project_pages_must_be_web_addresses(raw: str) -> None:
    with pytest.raises(LinkError, match="projectPage"):
        project_page(raw)


@given(st.text(max_size=80))
def test_any_accepted_repository_is_a_plain_github_address(raw: str) -> None:
    try:
        clean = github_repo(raw)
    except LinkError:
        return
    owner, repo = clean.removeprefix("https://github.com/").split("/")
    assert owner and repo and "?" not in clean and "#" not in clean


def _submitted_by(engine: Engine, paper_pk: int, user_pk: int) -> None:
    row = {"paper_pk": paper_pk, "user_pk": user_pk, "source": "arxiv"}
    with write_transaction(engine) as conn:
        conn.execute(insert(submissions).values(**row, created_at=datetime.now(UTC)))


def test_the_submitter_and_admins_set_links_others_may_not(engine: Engine) -> None:
    record = PaperRecord(id="2401.12345", title="T", abstract="A", authors=["Ada"])
    record.links = [Link("code", "https://github.com/old/repo", 50)]
    pk = add_papers(engine, record)["2401.12345"]
    submitter = load_user(engine, add_user(engine, "sub"))
    stranger = load_user(engine, add_user(engine, "stranger"))
    admin = load_user(engine, add_user(engine, "boss", admin=True))
    _submitted_by(engine, pk, submitter.pk)
    with pytest.raises(NotAllowed):
        set_links(engine, stranger, pk, github="https://github.com/x/y")
    same = set_links(engine, submitter, pk, github="https://github.com/old/repo.git")
    assert same.github_stars == 50  # the same repository keeps its count
    done = set_links(
        engine, submitter, pk, github="https://github.com/new/repo", project="https://p.org"
    )
    assert (done.github_repo, done.github_stars) == ("https://github.com/new/repo", None)
    assert done.project_page == "https://p.org"
    kept = set_links(engine, admin, pk, project="")  # "" removes, None keeps
    assert kept.project_page is None and kept.github_repo == "https://github.com/new/repo"
    item = queries.paper_detail(engine, pk)
    assert item is not None and item.code_url == "https://github.com/new/repo"


def test_nothing_is_written_when_one_address_is_bad(engine: Engine) -> None:
    pk = add_papers(engine, PaperRecord(id="2401.12345", title="T", abstract="A"))["2401.12345"]
    admin = load_user(engine, add_user(engine, "boss", admin=True))
    with pytest.raises(LinkError, match="projectPage"):
        set_links(engine, admin, pk, github="https://github.com/o/r", project="javascript:x")
    item = queries.paper_detail(engine, pk)
    assert item is not None and item.code_url is None
