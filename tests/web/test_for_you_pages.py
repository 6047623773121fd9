"""The "for you" page, its API, 👍/👎 by form, htmx and JSON, and digest feedback links."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from bs4 import BeautifulSoup
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select

from paperfeed.community.sessions import create_api_token
from paperfeed.config import get_settings
from paperfeed.rank import for_you
from paperfeed.rank.feedback import FeedbackToken, make_feedback_token
from paperfeed.store.recommend_schema import recommendation_feedback, user_categories
from paperfeed.web.app import create_app
from tests.factories import add_user, anonymous, signed_in
from tests.rank.for_you_data import load_sample, tagged_reader


@pytest.fixture
def reader(engine: Engine, tmp_path: Path) -> Iterator[tuple[TestClient, int]]:
    load_sample(engine, tmp_path, 800)
    for_you._models.clear()
    user_pk, _ = tagged_reader(engine, per_tag=4)
    with signed_in(engine, user_pk) as client:
        yield client, user_pk


def _csrf(client: TestClient) -> str:
    page = BeautifulSoup(client.get("/for-you").text, "html.parser")
    field = page.find("input", attrs={"name": "csrf_token"})
    assert field is not None
    return str(field["value"])


def _feedback_rows(engine: Engine) -> list[tuple[int, str, int]]:
    with engine.connect() as conn:
        query = select(
            recommendation_feedback.c.paper_pk,
            recommendation_feedback.c.tag,
            recommendation_feedback.c.value,
        )
        return [tuple(row) for row in conn.execute(query)]


def test_the_page_needs_a_sign_in(engine: Engine) -> None:
    with anonymous() as client:
        response = client.get("/for-you", follow_redirects=False)
        assert response.status_code == 303
        assert response.headers["location"].startswith("/login?next=")
        assert client.get("/api/for-you").status_code == 401


def test_the_page_lists_recommendations_with_their_reasons(reader: tuple[TestClient, int]) -> None:
    client, _ = reader
    page = BeautifulSoup(client.get("/for-you").text, "html.parser")
    items = page.select("article.recommendation")
    assert len(items) >= 10
    why = items[0].select_one(".why")
    assert why is not None and "close to" in why.text and "in tag" in why.text
    assert page.select('form[action="/for-you/feedback"] input[name="vote"][value="down"]')
    tab = client.get("/for-you?tag=rl")
    assert tab.status_code == 200 and 'aria-current="page">rl' in tab.text
    assert client.get("/for-you?tag=nope").status_code == 404


def test_thumbs_by_form_htmx_and_json(engine: Engine, reader: tuple[TestClient, int]) -> None:
    client, user_pk = reader
    recommended = client.get("/api/for-you?limit=3").json()
    assert recommended["cold_start"] is False and set(recommended["tags"]) == {"rl", "speech"}
    first, second, third = recommended["papers"]
    assert first["why"]["nearest"]["id"] and first["why"]["text"]
    token = _csrf(client)
    form = {"paper_id": first["id"], "vote": "up", "tag": first["tag"], "csrf_token": token}
    plain = client.post("/for-you/feedback", data=form, follow_redirects=False)
    assert plain.status_code == 303 and plain.headers["location"] == "/for-you"
    form.update(paper_id=second["id"], vote="down")
    fragment = client.post("/for-you/feedback", data=form, headers={"HX-Request": "true"})
    assert fragment.status_code == 200 and "less like this" in fragment.text
    script = create_api_token(engine, user_pk, "script")
    body = {"paper_id": third["id"], "vote": "up", "tag": ""}
    answer = TestClient(create_app()).post(
        "/api/for-you/feedback", json=body, headers={"Authorization": f"Bearer {script}"}
    )
    assert answer.status_code == 200 and answer.json()["vote"] == "up"
    assert sorted(value for _, _, value in _feedback_rows(engine)) == [-1, 1, 1]
    after = {p["id"] for p in client.get("/api/for-you?limit=20").json()["papers"]}
    assert not after & {first["id"], second["id"], third["id"]}


def test_a_form_without_its_token_is_refused(
    engine: Engine, reader: tuple[TestClient, int]
) -> None:
    client, _ = reader
    paper = client.get("/api/for-you?limit=1").json()["papers"][0]
    response = client.post("/for-you/feedback", data={"paper_id": paper["id"], "vote": "up"})
    assert response.status_code == 403 and _feedback_rows(engine) == []


def test_cold_start_offers_categories_and_then_recommends(engine: Engine, tmp_path: Path) -> None:
    load_sample(engine, tmp_path, 800)
    user_pk = add_user(engine, "newcomer")
    with signed_in(engine, user_pk) as client:
        page = BeautifulSoup(client.get("/for-you").text, "html.parser")
        choices = [str(box["value"]) for box in page.select('input[name="category"]')]
        assert "cs.CV" in choices
        form = {"category": ["cs.CV", "cs.CL"], "csrf_token": _csrf(client)}
        assert (
            client.post("/for-you/categories", data=form, follow_redirects=False).status_code == 303
        )
        with engine.connect() as conn:
            assert sorted(conn.execute(select(user_categories.c.category)).scalars()) == [
                "cs.CL",
                "cs.CV",
            ]
        assert (
            len(BeautifulSoup(client.get("/for-you").text, "html.parser").select(".recommendation"))
            >= 10
        )


def test_digest_links_record_only_on_post(engine: Engine, reader: tuple[TestClient, int]) -> None:
    client, user_pk = reader
    paper = client.get("/api/for-you?limit=1").json()["papers"][0]
    secret = get_settings().resolved_secret_key()
    token = make_feedback_token(secret, FeedbackToken(user_pk, paper["id"], -1, "rl"))
    with anonymous() as mail_reader:
        page = mail_reader.get(f"/feedback/{token}")
        assert page.status_code == 200 and "Less like this" in page.text
        assert _feedback_rows(engine) == [], "a GET (a mail scanner) records nothing"
        field = BeautifulSoup(page.text, "html.parser").find("input", attrs={"name": "csrf_token"})
        assert field is not None
        done = mail_reader.post(f"/feedback/{token}", data={"csrf_token": str(field["value"])})
        assert done.status_code == 200 and "Recorded" in done.text
        assert [(tag, value) for _, tag, value in _feedback_rows(engine)] == [("rl", -1)]
        assert mail_reader.get(f"/feedback/{token[:-2]}xx").status_code == 400


def test_the_page_offers_a_for_you_digest(engine: Engine, reader: tuple[TestClient, int]) -> None:
    from paperfeed.store.mail_schema import subscriptions

    client, _ = reader
    page = BeautifulSoup(client.get("/for-you").text, "html.parser")
    form = page.select_one("form.for-you-subscribe")
    assert form is not None
    fields = {str(i["name"]): str(i.get("value", "")) for i in form.select("input")}
    assert fields["kind"] == "for_you" and fields["email"] == "reader@example.org"
    answer = client.post("/subscribe", data={**fields, "frequency": "weekly"})
    assert answer.status_code == 200 and "inbox" in answer.text
    with engine.connect() as conn:
        kinds = [(row.kind, row.frequency) for row in conn.execute(select(subscriptions))]
    assert kinds == [("for_you", "weekly")]
