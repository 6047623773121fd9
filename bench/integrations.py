"""Latency of the paper page (with its citation, OpenGraph and JSON-LD head) and of the MCP
tools, through the app in-process (TestClient), over the bundled sample corpus.

    PYTHONPATH=src .venv/bin/python bench/integrations.py --database-url sqlite:////tmp/pf.db

The database must hold the sample (``paperfeed db upgrade && paperfeed ingest --sample``). Run it
with another checkout's ``src`` on PYTHONPATH for a baseline (``--no-mcp`` where it has none).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time
from collections.abc import Callable

from fastapi.testclient import TestClient
from sqlalchemy import create_engine, text

MCP_HEADERS = {
    "accept": "application/json, text/event-stream",
    "mcp-protocol-version": "2025-06-18",
}


def timed(call: Callable[[], object], rounds: int) -> dict[str, float]:
    samples = []
    for _ in range(rounds):
        start = time.perf_counter()
        call()
        samples.append((time.perf_counter() - start) * 1000)
    samples.sort()
    return {
        "p50_ms": round(statistics.median(samples), 2),
        "p95_ms": round(samples[int(len(samples) * 0.95) - 1], 2),
    }


def tool(client: TestClient, name: str, arguments: dict[str, object]) -> Callable[[], object]:
    body = {
        "jsonrpc": "2.0",
        "id": 1,
        "method": "tools/call",
        "params": {"name": name, "arguments": arguments},
    }

    def call() -> object:
        answer = client.post("/mcp", json=body, headers=MCP_HEADERS)
        assert answer.status_code == 200 and "error" not in answer.json(), answer.text
        return answer

    return call


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--rounds", type=int, default=100)
    parser.add_argument("--no-mcp", action="store_true", help="the checkout has no /mcp")
    args = parser.parse_args()
    os.environ["PAPERFEED_DATABASE_URL"] = args.database_url
    from paperfeed.web.app import create_app

    with create_engine(args.database_url).connect() as conn:
        ids = list(conn.execute(text("SELECT id FROM papers ORDER BY pk LIMIT 50")).scalars())
    results: dict[str, dict[str, float]] = {}
    with TestClient(create_app(), base_url="http://127.0.0.1:8000") as client:
        pages = iter(ids * (args.rounds // len(ids) + 2))

        def page() -> object:
            answer = client.get(f"/papers/{next(pages)}")
            assert answer.status_code == 200
            return answer

        page()  # warm: templates, similar-paper index
        results["paper page"] = timed(page, args.rounds)
        if not args.no_mcp:
            tool(client, "search_papers", {"query": "warm up", "limit": 1})()
            calls = {
                "mcp get_paper": tool(client, "get_paper", {"id": ids[0]}),
                "mcp search_papers": tool(
                    client, "search_papers", {"query": "kv cache", "limit": 10}
                ),
                "mcp daily_papers (a month)": tool(client, "daily_papers", {"date": "2026-06"}),
                "mcp trending": tool(client, "trending", {"limit": 10}),
            }
            for name, call in calls.items():
                results[name] = timed(call, max(10, args.rounds // 4))
    print(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
