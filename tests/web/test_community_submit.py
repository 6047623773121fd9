"""Submissions: by arXiv id against recorded arXiv answers on a loopback server, duplicates,
manual entry, bad input and unreachable arXiv, and new accounts' daily limit."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import Engine, func, select

from paperfeed.community.paper_context import community_context
from paperfeed.community.submit import (
    NEW_ACCOUNT_DAILY_LIMIT,
    SubmitError,
    SubmitRateLimited,
    submit_arxiv,
    submit_manual,
)
from paperfeed.config import get_settings
from paperfeed.search.indexer import DenseRetriever, update_index
from paperfeed.store.community_schema import submissions
from paperfeed.store.embeddings import count_embeddings
from paperfeed.store.schema import papers
from tests.factories import add_paper, add_user, anonymous, form_token, load_user, signed_in
from tests.net.conftest import Reply, Server, net_env, recorded, server
from tests.search.dense_helpers import CachedEmbedder
from tests.web.test_community_comments import assert_safe

__all__ = ["net_env", "server"]  # fixtures of the loopback server, used by name below

KNOWN = ("2503.14755", "2503.14797")  # the two entries of arxiv_api_ids.xml
TITLE = "Language Independent Named Entity Recognition via Orthogonal Transformation"


@pytest.fixture
def arxiv(net_env: Server) -> Server:
    """The loopback server answers arXiv id queries from the recorded feed."""

    def api(query: dict[str, str]) -> Reply:
        wanted = set(query.get("id_list", "").split(","))
        known = {f"{base}v1" for base in KNOWN} | set(KNOWN)
        return recorded("arxiv_api_ids.xml" if wanted <= known else "arxiv_api_empty.xml")

    net_env.route("/api/query", api)
    return net_env


def _counts(engine: Engine) -> tuple[int, int]:
    with engine.connect() as conn:
        paper_count = conn.execute(select(func.count()).select_from(papers)).scalar_one()
        submission_count = conn.execute(select(func.count()).select_from(submissions)).scalar_one()
    return int(paper_count), int(submission_count)


def test_submit_by_id_fetches_arxiv_and_records_who(engine: Engine, arxiv: Server) -> None:
    alice = load_user(engine, add_user(engine, "alice"))
    done = submit_arxiv(engine, get_settings(), alice, "https://arxiv.org/abs/2503.14755v1")
    assert done.paper_id == "2503.14755" and done.created
    assert arxiv.seen and arxiv.seen[0].query["id_list"] == "2503.14755v1"
    with engine.connect() as conn:
        row = conn.execute(select(papers).where(papers.c.pk == done.paper_pk)).one()
    assert row.title.startswith(TITLE)
    assert row.submitter == "alice" and row.featured_day is not None
    assert community_context(engine, done.paper_pk, None)["submitted_by"] == "alice"
    assert _counts(engine) == (1, 1)


def test_duplicate_submission_lands_on_the_existing_paper(engine: Engine, arxiv: Server) -> None:
    existing = add_paper(engine, "2503.14797", title="Stored earlier", featured_day=None)
    bob = load_user(engine, add_user(engine, "bob"))
    for spelling in ("arXiv:2503.14797", "2503.14797v1", "https://arxiv.org/abs/2503.14797v7"):
        done = submit_arxiv(engine, get_settings(), bob, spelling)
        assert done.paper_pk == existing and not done.created
    assert arxiv.seen == []  # any version of a stored paper is recognised, never fetched again
    with engine.connect() as conn:
        row = conn.execute(select(papers).where(papers.c.pk == existing)).one()
    assert row.submitter is None  # an existing paper keeps its own submitter and day
    assert _counts(engine) == (1, 0)  # and sending it again credits nobody


def test_manual_entry_and_its_duplicate_by_title(engine: Engine) -> None:
    carol = load_user(engine, add_user(engine, "carol"))
    done = submit_manual(
        engine,
        carol,
        "A Paper Typed By Hand",
        "It has an abstract.",
        "Ada Lovelace, Alan Turing",
        "https://example.org/paper.pdf",
    )
    assert done.created and done.paper_id.startswith("pf-")
    same = submit_manual(engine, carol, "a paper  typed by hand", "Again.", "")
    assert same.paper_pk == done.paper_pk and not same.created
    # A manual entry whose link is an arXiv URL lands on that arXiv paper.
    stored = add_paper(engine, "2401.12345", title="Something else")
    via_link = submit_manual(
        engine, carol, "Something else", "x", "", "https://arxiv.org/abs/2401.12345v3"
    )
    assert via_link.paper_pk == stored
    with pytest.raises(SubmitError, match="title"):
        submit_manual(engine, carol, "  ", "abstract", "")
    with pytest.raises(SubmitError, match="http"):
        submit_manual(engine, carol, "T", "A", "", "javascript:alert(1)")


def test_bad_ids_and_unreachable_arxiv_store_nothing(
    engine: Engine, arxiv: Server, monkeypatch: pytest.MonkeyPatch
) -> None:
    dave = load_user(engine, add_user(engine, "dave"))
    with pytest.raises(SubmitError, match="not an arXiv id"):
        submit_arxiv(engine, get_settings(), dave, "not an id")
    with pytest.raises(SubmitError, match="no paper"):
        submit_arxiv(engine, get_settings(), dave, "2401.99999")  # arXiv answers an empty feed
    arxiv.route("/api/query", lambda query: Reply(500, b"broken"))
    monkeypatch.setenv("PAPERFEED_ARXIV_MAX_RETRIES", "0")
    get_settings.cache_clear()
    with pytest.raises(SubmitError, match=r"Could not get 2503\.14755 from arXiv"):
        submit_arxiv(engine, get_settings(), dave, "2503.14755")
    assert _counts(engine) == (0, 0)


def test_new_accounts_may_submit_three_a_day(engine: Engine) -> None:
    young = load_user(engine, add_user(engine, "young", age=timedelta(hours=2)))
    old = load_user(engine, add_user(engine, "old", age=timedelta(days=3)))
    for n in range(NEW_ACCOUNT_DAILY_LIMIT):
        submit_manual(engine, young, f"Young paper {n}", "abstract", "")
    with pytest.raises(SubmitRateLimited, match="New accounts"):
        submit_manual(engine, young, "One too many", "abstract", "")
    for n in range(NEW_ACCOUNT_DAILY_LIMIT + 1):
        submit_manual(engine, old, f"Old paper {n}", "abstract", "")
    assert _counts(engine)[1] == 2 * NEW_ACCOUNT_DAILY_LIMIT + 1


def test_submit_page_form_errors_and_redirect(engine: Engine, arxiv: Server) -> None:
    with signed_in(engine, add_user(engine, "erin")) as client:
        page = client.get("/submit")
        assert page.status_code == 200 and 'name="arxiv_id"' in page.text
        token = form_token(client, "/submit")
        bad = client.post("/submit", data={"csrf_token": token, "arxiv_id": "<b>nope</b>"})
        assert bad.status_code == 422
        assert "is not an arXiv id" in bad.text and "<b>nope</b>" not in bad.text
        missing = client.post("/submit", data={"arxiv_id": "2503.14755"})
        assert missing.status_code == 403
        done = client.post(
            "/submit",
            data={"csrf_token": token, "arxiv_id": "2503.14755"},
            follow_redirects=False,
        )
        assert done.status_code == 303 and done.headers["location"] == "/papers/2503.14755"
        manual = client.post(
            "/submit",
            data={"csrf_token": token, "mode": "manual", "title": "", "abstract": "x"},
        )
        assert manual.status_code == 422 and "title" in manual.text
        arxiv.route("/api/query", lambda query: Reply(500, b"broken"))
        state = client.app.state  # type: ignore[attr-defined]
        state.settings = state.settings.model_copy(update={"arxiv_max_retries": 0})
        down = client.post("/submit", data={"csrf_token": token, "arxiv_id": "2503.14797"})
        assert down.status_code == 502 and "Could not get 2503.14797 from arXiv" in down.text
    assert _counts(engine) == (1, 1)


def test_submit_page_needs_sign_in(engine: Engine) -> None:
    with anonymous() as anon:
        response = anon.get("/submit", follow_redirects=False)
        assert response.status_code == 303
        assert response.headers["location"] == "/login?next=%2Fsubmit"
        response = anon.post("/submit", data={"arxiv_id": "2503.14755"}, follow_redirects=False)
        assert response.status_code == 303


def test_hostile_manual_submission_renders_safely(engine: Engine) -> None:
    with signed_in(engine, add_user(engine, "mallory")) as client:
        token = form_token(client, "/submit")
        done = client.post(
            "/submit",
            data={
                "csrf_token": token,
                "mode": "manual",
                "title": '<script>alert(1)</script> "><img src=x onerror=alert(2)>',
                "abstract": '<a href="javascript:alert(3)">click</a>',
                "authors": '"><svg onload=alert(4)>, Eve',
                "url": "https://example.org/?q=<script>",
            },
            follow_redirects=False,
        )
        assert done.status_code == 303
        page = client.get(done.headers["location"])
        assert page.status_code == 200
        soup = assert_safe(page.text, "main a[href^=http]")
        assert "<script>alert(1)</script>" in soup.get_text()  # shown as text
        for link in soup.select("main a[href]"):
            assert str(link["href"]).startswith(("/", "#", "http://", "https://")), link
        refused = client.post(
            "/submit",
            data={"csrf_token": token, "mode": "manual", "title": "T", "abstract": "A",
                  "url": "javascript:alert(5)"},
        )  # fmt: skip
        assert refused.status_code == 422 and "http" in refused.text


def test_a_submitted_paper_is_embedded_at_once_and_its_page_shows_similar_papers(
    engine: Engine,
) -> None:
    stored = [add_paper(engine, f"2401.0000{n}", title=f"Sparse attention for long contexts {n}")
              for n in range(3)]  # fmt: skip
    embedder = CachedEmbedder()
    update_index(engine, embedder)
    with signed_in(engine, add_user(engine, "frank")) as client:
        client.app.state.retriever = DenseRetriever(embedder)  # type: ignore[attr-defined]
        token = form_token(client, "/submit")
        data = {"csrf_token": token, "mode": "manual", "title": "Sparse attention, again"}
        done = client.post("/submit", data=data | {"abstract": "Long contexts, sparse attention."})
        assert done.status_code == 200  # followed to the paper's page
        assert "No similar papers yet" not in done.text
        assert "Sparse attention for long contexts" in done.text
    with engine.connect() as conn:
        assert count_embeddings(conn, embedder.name) == len(stored) + 1
