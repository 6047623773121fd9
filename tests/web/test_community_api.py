"""The write API: upvote, comments and submit with an API token or a session; JSON errors;
401 without auth; CSRF rules; OpenAPI documents the endpoints."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any, cast

import pytest
import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import content_type_conformance, response_schema_conformance
from sqlalchemy import Engine, func, select

from paperfeed.community.sessions import create_api_token
from paperfeed.store.community_schema import comments, votes
from paperfeed.web.app import create_app
from tests.factories import add_paper, add_user, anonymous, form_token, signed_in

CHECKS = [not_a_server_error, content_type_conformance, response_schema_conformance]


@pytest.fixture
def api(engine: Engine) -> Iterator[TestClient]:
    with anonymous() as client:
        yield client


def _bearer(engine: Engine, user_pk: int) -> dict[str, str]:
    return {"Authorization": f"Bearer {create_api_token(engine, user_pk, 'script')}"}


def _count(engine: Engine, table: object) -> int:
    with engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(table)).scalar_one())  # type: ignore[arg-type]


def test_upvote_with_token_toggle_explicit_and_unvote(engine: Engine, api: TestClient) -> None:
    add_paper(engine, "2401.12345")
    auth = _bearer(engine, add_user(engine))
    first = api.post("/api/papers/2401.12345/upvote", headers=auth)
    assert first.status_code == 200
    assert first.json() == {"paper_id": "2401.12345", "upvoted": True, "upvotes": 1}
    again = api.post("/api/papers/2401.12345/upvote", json={"upvoted": True}, headers=auth)
    assert again.json()["upvotes"] == 1
    toggled = api.post("/api/papers/arXiv:2401.12345/upvote", headers=auth)
    assert toggled.json() == {"paper_id": "2401.12345", "upvoted": False, "upvotes": 0}
    api.post("/api/papers/2401.12345/upvote", json={"upvoted": True}, headers=auth)
    deleted = api.delete("/api/papers/2401.12345/upvote", headers=auth)
    assert deleted.json()["upvoted"] is False
    api.post("/api/papers/2401.12345/upvote", json={"upvoted": True}, headers=auth)
    unvoted = api.post("/api/papers/2401.12345/unvote", headers=auth)
    assert unvoted.json() == {"paper_id": "2401.12345", "upvoted": False, "upvotes": 0}
    assert _count(engine, votes) == 0
    missing = api.post("/api/papers/2401.99999/upvote", headers=auth)
    assert missing.status_code == 404
    assert missing.json()["status"] == "error" and "2401.99999" in missing.json()["detail"]
    bad_body = api.post("/api/papers/2401.12345/upvote", json={"upvoted": "maybe"}, headers=auth)
    assert bad_body.status_code == 422


def test_without_auth_401_and_bad_token_401(engine: Engine, api: TestClient) -> None:
    add_paper(engine, "2401.12345")
    for method, path, body in [
        ("POST", "/api/papers/2401.12345/upvote", None),
        ("DELETE", "/api/papers/2401.12345/upvote", None),
        ("POST", "/api/papers/2401.12345/comments", {"body": "hi"}),
        ("POST", "/api/submit", {"arxiv_id": "2401.12345"}),
    ]:
        response = api.request(method, path, json=body)
        assert response.status_code == 401, path
        assert response.json()["status"] == "error"
        forged = api.request(method, path, json=body, headers={"Authorization": "Bearer pf_nope"})
        assert forged.status_code == 401, path
    assert api.get("/api/papers/2401.12345/comments").json() == []


def test_comments_with_token(engine: Engine, api: TestClient) -> None:
    add_paper(engine, "2401.12345")
    auth = _bearer(engine, add_user(engine, "scripter"))
    created = api.post(
        "/api/papers/2401.12345/comments",
        json={"body": "Looks **good** <script>x</script>"},
        headers=auth,
    )
    assert created.status_code == 201
    item = created.json()
    assert item["author"] == "scripter" and item["paper_id"] == "2401.12345"
    assert item["created_at"].endswith(("Z", "+00:00"))  # a date-time with its zone
    assert "<strong>good</strong>" in item["html"] and "<script>" not in item["html"]
    listed = api.get("/api/papers/2401.12345/comments").json()
    assert [c["id"] for c in listed] == [item["id"]]
    empty = api.post("/api/papers/2401.12345/comments", json={"body": ""}, headers=auth)
    assert empty.status_code == 422
    blank = api.post("/api/papers/2401.12345/comments", json={"body": "   "}, headers=auth)
    assert blank.status_code == 400 and "empty" in blank.json()["detail"]
    assert _count(engine, comments) == 1


def test_submit_manual_with_token(engine: Engine, api: TestClient) -> None:
    auth = _bearer(engine, add_user(engine))
    body = {"title": "Scripted Paper", "abstract": "Abstract.", "authors": ["A. Person"]}
    created = api.post("/api/submit", json=body, headers=auth)
    assert created.status_code == 201
    assert created.json()["created"] is True and created.json()["paper_id"].startswith("pf-")
    again = api.post("/api/submit", json=body, headers=auth)
    assert again.json()["created"] is False
    assert again.json()["paper_id"] == created.json()["paper_id"]
    refused = api.post("/api/submit", json={"arxiv_id": "not-an-id"}, headers=auth)
    assert refused.status_code == 400 and "not an arXiv id" in refused.json()["detail"]
    nothing = api.post("/api/submit", json={}, headers=auth)
    assert nothing.status_code == 400 and "arxiv_id" in nothing.json()["detail"]


def test_session_requests_need_the_csrf_header(engine: Engine) -> None:
    add_paper(engine, "2401.12345")
    with signed_in(engine, add_user(engine)) as client:
        token = form_token(client)
        assert client.post("/api/papers/2401.12345/upvote").status_code == 403
        evil = client.post(
            "/api/papers/2401.12345/upvote",
            headers={"X-CSRF-Token": token, "Origin": "http://evil.test"},
        )
        assert evil.status_code == 403
        ok = client.post("/api/papers/2401.12345/upvote", headers={"X-CSRF-Token": token})
        assert ok.status_code == 200 and ok.json()["upvoted"] is True


def test_openapi_documents_the_write_endpoints(api: TestClient) -> None:
    spec = api.get("/openapi.json").json()
    paths = spec["paths"]
    assert "post" in paths["/api/papers/{paper_id}/upvote"]
    assert "delete" in paths["/api/papers/{paper_id}/upvote"]
    assert {"get", "post"} <= set(paths["/api/papers/{paper_id}/comments"])
    assert "post" in paths["/api/submit"]
    schemas = spec["components"]["schemas"]
    assert {"UpvoteOut", "CommentIn", "CommentOut", "SubmitIn", "SubmitOut"} <= set(schemas)


COMMUNITY_PATHS = ("/upvote", "/unvote", "/comments", "/api/submit")


def test_write_api_never_fails_and_matches_its_schema(engine: Engine) -> None:
    """schemathesis over this module's operations only, signed in with an API token."""
    add_paper(engine, "2401.12345")
    headers = _bearer(engine, add_user(engine, "fuzzer", age=timedelta(days=30)))
    schema = schemathesis.openapi.from_asgi("/openapi.json", create_app())
    operations = [
        op
        for op in (cast(Any, result).ok() for result in schema.get_all_operations())
        if op.path.endswith(COMMUNITY_PATHS)
    ]
    assert len(operations) == 6
    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(
            max_examples=25, deadline=None, database=None, suppress_health_check=list(HealthCheck)
        )
        def check(case: Any) -> None:
            # About half the calls on a real paper, so the success paths run too.
            paper_id = (case.path_parameters or {}).get("paper_id")
            if paper_id is not None and paper_id[:1] in "abcdefghijklm":
                case.path_parameters["paper_id"] = "2401.12345"
            if isinstance(case.body, dict) and case.body.get("arxiv_id"):
                # A space inside makes it no arXiv id: no network call.
                case.body["arxiv_id"] = "no id " + str(case.body["arxiv_id"])
            case.call_and_validate(headers=headers, checks=CHECKS)

        check()
