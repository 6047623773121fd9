"""Adding code and project links through ``POST /api/papers/{id}/links`` (token or session)
and the paper page's form; the page shows them, and ``has:code`` finds the paper."""

from __future__ import annotations

from datetime import UTC, datetime

from bs4 import BeautifulSoup
from sqlalchemy import Engine, insert

from paperfeed.community.sessions import create_api_token
from paperfeed.search.service import search
from paperfeed.store.community_schema import submissions
from paperfeed.store.engine import write_transaction
from tests.factories import add_paper, add_user, anonymous, form_token, signed_in

PAPER = "2401.12345"
REPO = "https://github.com/karpathy/nanoGPT"


def _submitter(engine: Engine, paper_pk: int, name: str = "sub") -> int:
    user_pk = add_user(engine, name)
    row = {"paper_pk": paper_pk, "user_pk": user_pk, "source": "arxiv"}
    with write_transaction(engine) as conn:
        conn.execute(insert(submissions).values(**row, created_at=datetime.now(UTC)))
    return user_pk


def _bearer(engine: Engine, user_pk: int) -> dict[str, str]:
    return {"Authorization": f"Bearer {create_api_token(engine, user_pk, 'links')}"}


def test_the_api_sets_links_and_has_code_finds_the_paper(engine: Engine) -> None:
    pk = add_paper(engine, PAPER, title="Landmark attention for long contexts")
    auth = _bearer(engine, _submitter(engine, pk))
    assert search(engine, "landmark has:code", 10).results == []
    with anonymous() as api:
        body = {"githubRepo": REPO + ".git", "projectPage": "https://example.org/landmark"}
        response = api.post(f"/api/papers/{PAPER}/links", json=body, headers=auth)
        assert response.status_code == 200, response.text
        assert response.json() == {
            "paper_id": PAPER,
            "githubRepo": REPO,
            "githubStars": None,
            "projectPage": "https://example.org/landmark",
        }
        assert api.get(f"/api/papers/{PAPER}").json()["githubRepo"] == REPO
        page = BeautifulSoup(api.get(f"/papers/{PAPER}").text, "html.parser")
        hrefs = [a["href"] for a in page.select("ul.paper-links a")]
        assert REPO in hrefs and "https://example.org/landmark" in hrefs
    assert [r.id for r in search(engine, "landmark has:code", 10).results] == [PAPER]


def test_api_errors_name_the_field_and_who_may(engine: Engine) -> None:
    pk = add_paper(engine, PAPER)
    submitter = _bearer(engine, _submitter(engine, pk))
    stranger = _bearer(engine, add_user(engine, "stranger"))
    with anonymous() as api:
        bad = api.post(
            f"/api/papers/{PAPER}/links",
            json={"githubRepo": "https://gitlab.com/o/r"},
            headers=submitter,
        )
        assert bad.status_code == 400 and "githubRepo" in bad.json()["detail"]
        page = api.post(
            f"/api/papers/{PAPER}/links",
            json={"projectPage": "javascript:alert(1)"},
            headers=submitter,
        )
        assert page.status_code == 400 and "projectPage" in page.json()["detail"]
        refused = api.post(
            f"/api/papers/{PAPER}/links", json={"githubRepo": REPO}, headers=stranger
        )
        assert refused.status_code == 403 and "submitter or an admin" in refused.json()["detail"]
        anonymous_post = api.post(f"/api/papers/{PAPER}/links", json={"githubRepo": REPO})
        assert anonymous_post.status_code == 401
        missing = api.post(
            "/api/papers/2999.99999/links", json={"githubRepo": REPO}, headers=submitter
        )
        assert missing.status_code == 404


def test_the_page_form_needs_its_token_and_shows_errors(engine: Engine) -> None:
    pk = add_paper(engine, PAPER)
    user_pk = _submitter(engine, pk)
    with signed_in(engine, add_user(engine, "stranger")) as other:
        assert "links-github" not in other.get(f"/papers/{PAPER}").text  # not offered
    with signed_in(engine, user_pk) as client:
        token = form_token(client, f"/papers/{PAPER}")
        form = {"github_repo": REPO, "project_page": ""}
        assert client.post(f"/papers/{PAPER}/links", data=form).status_code == 403  # no token
        wrong = {**form, "github_repo": "https://github.com/only-owner", "csrf_token": token}
        refused = client.post(f"/papers/{PAPER}/links", data=wrong)
        assert refused.status_code == 400
        soup = BeautifulSoup(refused.text, "html.parser")
        alert = soup.select_one(".links-edit .form-error")
        assert alert is not None and "one repository" in alert.text
        field = soup.select_one("#links-github")
        assert field is not None and field["value"] == "https://github.com/only-owner"
        done = client.post(
            f"/papers/{PAPER}/links", data={**form, "csrf_token": token}, follow_redirects=False
        )
        assert done.status_code == 303 and done.headers["location"] == f"/papers/{PAPER}#links"
        page = BeautifulSoup(client.get(f"/papers/{PAPER}").text, "html.parser")
        assert REPO in [a["href"] for a in page.select("ul.paper-links a")]
        field = page.select_one("#links-github")
        assert field is not None and field["value"] == REPO
