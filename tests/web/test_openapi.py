"""``/openapi.json`` reads well: named operations, summaries, response models, and the API
token scheme on the routes that need a user (Swagger UI's Authorize button)."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import Engine

from paperfeed.web.app import create_app


def _schema(engine: Engine) -> dict[str, Any]:
    with TestClient(create_app()) as client:
        schema: dict[str, Any] = client.get("/openapi.json").json()
    return schema


def _operations(schema: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {
        f"{method.upper()} {path}": operation
        for path, operations in schema["paths"].items()
        for method, operation in operations.items()
    }


def test_operations_are_named_and_summarised(engine: Engine) -> None:
    operations = _operations(_schema(engine))
    ids = [op["operationId"] for op in operations.values()]
    assert len(ids) == len(set(ids))
    for key, op in operations.items():
        # FastAPI's generated ids repeat the path and end in the method.
        assert "_api_" not in op["operationId"] and "__" not in op["operationId"], key
        assert not op["summary"].endswith(" Api"), key
    assert operations["GET /api/daily_papers"]["operationId"] == "list_daily_papers"
    assert operations["GET /api/papers/search"]["operationId"] == "search_papers"
    assert operations["GET /api/papers/{paper_id}"]["operationId"] == "paper_info"
    assert operations["GET /papers/{paper_id}.md"]["operationId"] == "read_paper"
    assert operations["POST /api/papers/{paper_id}/links"]["operationId"] == "links"


def test_answers_are_response_models(engine: Engine) -> None:
    schema = _schema(engine)
    operations = _operations(schema)

    def item_model(key: str) -> str:
        content = operations[key]["responses"]["200"]["content"]["application/json"]
        ref: str = content["schema"].get("items", content["schema"]).get("$ref", "")
        return ref.rsplit("/", 1)[-1]

    assert item_model("GET /api/daily_papers") == "DailyPaper"
    assert item_model("GET /api/papers/search") == "SearchItem"
    assert item_model("GET /api/papers/{paper_id}") == "HfPaper"
    assert item_model("GET /api/trending") == "TrendingItem"
    assert item_model("GET /api/papers/{paper_id}/similar") == "SimilarItem"
    paper = schema["components"]["schemas"]["HfPaper"]["properties"]
    assert {"upvotes", "numComments", "githubRepo", "githubStars", "projectPage"} <= set(paper)
    assert {"ai_summary", "ai_keywords"} <= set(paper)
    daily = schema["components"]["schemas"]["DailyPaper"]["properties"]
    assert {"ai_summary", "ai_keywords"} <= set(daily)  # where huggingface_hub reads them


def test_routes_that_need_a_user_carry_the_token_scheme(engine: Engine) -> None:
    schema = _schema(engine)
    scheme = schema["components"]["securitySchemes"]["apiToken"]
    assert scheme["type"] == "http" and scheme["scheme"] == "bearer"
    operations = _operations(schema)
    for key in ("POST /api/papers/{paper_id}/links", "GET /api/library", "GET /api/for-you"):
        assert operations[key]["security"] == [{"apiToken": []}], key
    for key in ("GET /api/daily_papers", "GET /api/papers/search", "GET /api/trending"):
        assert "security" not in operations[key], key
