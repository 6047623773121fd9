"""The MCP server at /mcp, called by the official SDK's own client (``mcp.Client``) over
Streamable HTTP against a real server (uvicorn on 127.0.0.1), on both backends."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import date, timedelta
from typing import Any

import anyio
import pytest
from fastapi.testclient import TestClient
from mcp import Client
from mcp.types import CallToolResult, TextContent
from sqlalchemy import Engine

from paperfeed.community.comments import add_comment
from paperfeed.rank.trending import recompute_trending, record_activity
from paperfeed.search.indexer import DenseRetriever, embed_papers
from paperfeed.store.engine import write_transaction
from paperfeed.web.app import create_app
from tests.factories import add_papers, add_user, load_user
from tests.live_server import serve_app
from tests.web.test_pages import real

DAY = date(2026, 5, 4)  # a Monday: week 2026-W19
TOOLS = {"search_papers", "get_paper", "daily_papers", "similar_papers", "trending"}


@pytest.fixture
def corpus(engine: Engine) -> dict[str, int]:
    pks = add_papers(
        engine,
        real(0, featured_day=DAY, upvotes=3),
        real(1, featured_day=DAY, upvotes=8),
        real(2, featured_day=DAY + timedelta(days=2), upvotes=1),
        real(3, featured_day=DAY + timedelta(days=30), upvotes=0),
    )
    with write_transaction(engine) as conn:
        record_activity(conn, pks[str(real(3).id)], "upvote", 20)
    recompute_trending(engine)
    embed_papers(engine, DenseRetriever().embedder, list(pks.values()))
    author = load_user(engine, add_user(engine, "grace"))
    add_comment(engine, author, pks[str(real(1).id)], "The ablation in table 2 is convincing.")
    return pks


@pytest.fixture
def site(corpus: dict[str, int]) -> Iterator[str]:
    with serve_app() as url:
        yield url


def call(url: str, name: str, arguments: dict[str, Any]) -> CallToolResult:
    async def run() -> CallToolResult:
        async with Client(f"{url}/mcp") as client:
            return await client.call_tool(name, arguments)

    return anyio.run(run)


def items(result: CallToolResult) -> list[dict[str, Any]]:
    assert not result.is_error, result
    structured = result.structured_content
    assert structured is not None
    found: list[dict[str, Any]] = structured["result"]
    return found


def text(result: CallToolResult) -> str:
    (content,) = result.content
    assert isinstance(content, TextContent)
    return content.text


def test_the_sdk_client_lists_five_read_only_tools(site: str) -> None:
    async def run() -> Any:
        async with Client(f"{site}/mcp") as client:
            return await client.list_tools(), client.server_info

    listed, info = anyio.run(run)
    assert info.name == "paperfeed"
    assert {tool.name for tool in listed.tools} == TOOLS
    for tool in listed.tools:
        assert tool.annotations is not None and tool.annotations.read_only_hint, tool.name
        assert tool.description, tool.name
    search = next(tool for tool in listed.tools if tool.name == "search_papers")
    assert search.input_schema["required"] == ["query"]


def test_search_get_daily_similar_and_trending(site: str) -> None:
    words = " ".join(real(1).title.split()[:5])
    hits = items(call(site, "search_papers", {"query": words, "limit": 3}))
    assert hits[0]["id"] == real(1).id and hits[0]["upvotes"] == 8 and len(hits) <= 3
    assert hits[0]["url"].endswith(f"/papers/{real(1).id}")

    paper = text(call(site, "get_paper", {"id": real(1).id}))
    assert paper.startswith(f"# {real(1).title}\n") and real(1).abstract in paper
    assert "## Discussion (1 comment)" in paper and "table 2 is convincing" in paper

    day = items(call(site, "daily_papers", {"date": DAY.isoformat()}))
    assert [p["id"] for p in day] == [real(1).id, real(0).id]  # most upvoted first
    week = items(call(site, "daily_papers", {"date": "2026-W19"}))
    assert [p["id"] for p in week] == [real(2).id, real(1).id, real(0).id]
    month = items(call(site, "daily_papers", {"date": "2026-06"}))
    assert [p["id"] for p in month] == [real(3).id]

    similar = items(call(site, "similar_papers", {"id": real(0).id, "limit": 2}))
    assert len(similar) == 2 and real(0).id not in [p["id"] for p in similar]
    assert all(-1 <= p["score"] <= 1 for p in similar)

    ranked = items(call(site, "trending", {"limit": 2}))
    assert ranked[0]["id"] == real(3).id and ranked[0]["rank"] == 1
    assert ranked[0]["trending_score"] > 0


@pytest.mark.parametrize(
    ("name", "arguments", "expected"),
    [
        ("get_paper", {"id": "2999.99999"}, "no paper with the id '2999.99999'"),
        ("similar_papers", {"id": "2999.99999"}, "no paper with the id '2999.99999'"),
        ("daily_papers", {"date": "2026-13-40"}, "is not a day"),
        ("daily_papers", {"date": "2026-W99"}, "is not a week"),
        ("daily_papers", {"date": "May"}, "is not a month"),
        ("search_papers", {"query": "  "}, "query is empty"),
        ("trending", {"limit": 0}, "limit"),
    ],
)
def test_bad_arguments_are_tool_errors_that_say_why(
    site: str, name: str, arguments: dict[str, Any], expected: str
) -> None:
    result = call(site, name, arguments)
    assert result.is_error and expected in text(result), text(result)


def test_a_plain_json_rpc_post_gets_a_json_answer(engine: Engine, corpus: dict[str, int]) -> None:
    """What a client without the SDK sends (stateless: no session id needed)."""
    request = {
        "jsonrpc": "2.0",
        "id": 1,
        "method": "tools/call",
        "params": {"name": "get_paper", "arguments": {"id": real(0).id}},
    }
    headers = {
        "accept": "application/json, text/event-stream",
        "mcp-protocol-version": "2025-06-18",
    }
    with TestClient(create_app()) as client:
        response = client.post("/mcp", json=request, headers=headers)
        assert response.status_code == 200, response.text
        assert response.headers["content-security-policy"]  # the site's headers wrap it
        answer = response.json()
        assert answer["result"]["content"][0]["text"].startswith(f"# {real(0).title}")
        evil = client.post("/mcp", json=request, headers={**headers, "origin": "http://evil.test"})
        assert evil.status_code == 403
        assert client.get("/mcp").status_code == 405  # no event stream: stateless
    assert json.dumps(answer)
