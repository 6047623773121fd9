"""``/docs`` serves Swagger UI from the package (no CDN) under a CSP that still forbids scripts
from anywhere else; OpenAPI documents the JSON API only."""

from __future__ import annotations

from fastapi.testclient import TestClient

from paperfeed.web.app import create_app


def test_docs_page_loads_swagger_from_our_own_static_files() -> None:
    with TestClient(create_app()) as client:
        page = client.get("/docs")
        assert page.status_code == 200
        assert 'src="/static/swagger/swagger-ui-bundle.js"' in page.text
        assert "<script>" not in page.text  # no inline script: the init is a file
        csp = page.headers["content-security-policy"]
        assert "script-src 'self'" in csp and "object-src 'none'" in csp
        assert "frame-ancestors 'none'" in csp and "base-uri 'none'" in csp
        for asset in ("swagger/swagger-ui-bundle.js", "swagger/swagger-ui.css", "swagger/init.js"):
            assert client.get(f"/static/{asset}").status_code == 200


def test_openapi_describes_the_api_and_not_the_pages() -> None:
    with TestClient(create_app()) as client:
        paths = client.get("/openapi.json").json()["paths"]
    assert "/api/papers/search" in paths
    assert "/" not in paths and "/search" not in paths and "/docs" not in paths
