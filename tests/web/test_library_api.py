"""The library API: save with tags, list by tag, unsave; "for you" learns from those tags."""

from __future__ import annotations

from pathlib import Path

from fastapi.testclient import TestClient
from sqlalchemy import Engine, select

from paperfeed.community.sessions import create_api_token
from paperfeed.rank import for_you
from paperfeed.store.schema import papers
from paperfeed.web.app import create_app
from tests.factories import add_user
from tests.rank.for_you_data import load_sample, papers_about


def _ids(engine: Engine, pks: list[int]) -> list[str]:
    with engine.connect() as conn:
        found = dict(
            conn.execute(select(papers.c.pk, papers.c.id).where(papers.c.pk.in_(pks))).all()
        )
    return [found[pk] for pk in pks]


def test_scripts_tag_papers_and_get_recommendations(engine: Engine, tmp_path: Path) -> None:
    load_sample(engine, tmp_path, 800)
    for_you._models.clear()
    user_pk = add_user(engine)
    auth = {"Authorization": f"Bearer {create_api_token(engine, user_pk, 'script')}"}
    speech = _ids(engine, papers_about(engine, "speech", 4))
    client = TestClient(create_app())
    assert client.get("/api/library").status_code == 401
    for paper_id in speech:
        saved = client.put(
            f"/api/library/{paper_id}", json={"tags": ["Speech", "asr"]}, headers=auth
        )
        assert saved.status_code == 200 and saved.json() == {
            "id": paper_id,
            "saved": True,
            "tags": ["speech", "asr"],
        }
    assert client.get("/api/library/tags", headers=auth).json() == ["asr", "speech"]
    # One item is one tag, as in the form: spaces inside it become hyphens.
    spaced = client.put(
        f"/api/library/{speech[0]}", json={"tags": ["Flow Matching", "a,b"]}, headers=auth
    )
    assert spaced.json()["tags"] == ["flow-matching", "a", "b"]
    client.put(f"/api/library/{speech[0]}", json={"tags": ["speech", "asr"]}, headers=auth)
    listed = client.get("/api/library?tag=speech", headers=auth).json()
    assert sorted(p["id"] for p in listed) == sorted(speech)
    recommended = client.get("/api/for-you?tag=speech&limit=5", headers=auth).json()
    assert recommended["tags"] == {"asr": 4, "speech": 4} and len(recommended["papers"]) == 5
    gone = client.delete(f"/api/library/{speech[0]}", headers=auth)
    assert gone.status_code == 200 and gone.json()["saved"] is False
    assert len(client.get("/api/library", headers=auth).json()) == 3
    missing = client.put("/api/library/9999.99999", json={"tags": []}, headers=auth)
    assert missing.status_code == 404 and "9999.99999" in missing.json()["detail"]
    too_long = client.put(f"/api/library/{speech[1]}", json={"tags": ["x" * 65]}, headers=auth)
    assert too_long.status_code == 422
