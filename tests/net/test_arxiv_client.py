"""arXiv politeness: spacing, one request at a time, retries with backoff and Retry-After."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from itertools import pairwise
from typing import Any

import pytest

from paperfeed.config import Settings
from paperfeed.ingest.net.arxiv_client import ArxivClient, ArxivError, _Spacing
from paperfeed.ingest.net.http import FetchError, Response, fetch
from tests.net.conftest import Reply, Server, recorded

NOW = datetime(2025, 3, 20, 12, 0, tzinfo=UTC)


class FakeTime:
    """A monotonic clock that only moves when the code sleeps."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def client(settings: Settings, fake: FakeTime, get: Any = fetch) -> ArxivClient:
    return ArxivClient(
        settings, fake.clock, fake.sleep, get, utcnow=lambda: NOW, spacing=_Spacing(),
        lock=threading.Lock(),
    )  # fmt: skip


def answers(*statuses: int, **headers: str) -> Any:
    """A fake fetch that answers these statuses in turn and records the call times."""
    replies = list(statuses)
    calls: list[str] = []

    def get(url: str, settings: Settings) -> Response:
        import httpx

        calls.append(url)
        return Response(url, replies.pop(0), httpx.Headers(headers), b"<feed/>")

    get.calls = calls  # type: ignore[attr-defined]
    return get


def test_default_spacing_is_three_seconds_between_request_starts() -> None:
    fake = FakeTime()
    starts: list[float] = []
    get = answers(200, 200, 200)

    def timed(url: str, settings: Settings) -> Response:
        starts.append(fake.now)
        fake.now += 0.4  # the request itself takes a while
        return get(url, settings)

    polite = client(Settings(), fake, timed)
    for _ in range(3):
        polite.request("https://export.arxiv.org/api/query", {"search_query": "cat:cs.CL"})
    assert Settings().arxiv_delay == 3.0
    assert [round(b - a, 6) for a, b in pairwise(starts)] == [3.0, 3.0]
    assert fake.sleeps == pytest.approx([2.6, 2.6])


def test_503_with_retry_after_seconds_is_retried_after_that_long() -> None:
    fake = FakeTime()
    get = answers(503, 200, **{"Retry-After": "7"})
    response = client(Settings(arxiv_delay=0), fake, get).request("https://a.example/q", {})
    assert response.status == 200
    assert fake.sleeps == [7.0]


def test_retry_after_as_http_date() -> None:
    fake = FakeTime()
    later = format_datetime(NOW + timedelta(seconds=12), usegmt=True)
    get = answers(429, 200, **{"Retry-After": later})
    client(Settings(arxiv_delay=0), fake, get).request("https://a.example/q", {})
    assert fake.sleeps == [12.0]


@pytest.mark.parametrize("status", [500, 502, 503, 504, 429])
def test_exponential_backoff_then_a_clear_error(status: int) -> None:
    fake = FakeTime()
    get = answers(*[status] * 4)
    polite = client(Settings(arxiv_delay=0, arxiv_max_retries=3), fake, get)
    with pytest.raises(ArxivError, match=rf"after 4 attempts \(last: HTTP {status}\)"):
        polite.request("https://a.example/q", {"id_list": "2401.12345"})
    assert fake.sleeps == [2.0, 4.0, 8.0]
    assert len(get.calls) == 4


def test_connection_errors_are_retried() -> None:
    fake = FakeTime()
    outcomes: list[Any] = [FetchError("u", "ConnectError: reset"), None]

    def flaky(url: str, settings: Settings) -> Response:
        import httpx

        outcome = outcomes.pop(0)
        if outcome is not None:
            raise outcome
        return Response(url, 200, httpx.Headers(), b"ok")

    assert client(Settings(arxiv_delay=0), fake, flaky).request("https://a/q", {}).body == b"ok"
    assert fake.sleeps == [2.0]


def test_client_errors_are_not_retried() -> None:
    fake = FakeTime()
    get = answers(400)
    with pytest.raises(ArxivError, match="HTTP 400"):
        client(Settings(arxiv_delay=0), fake, get).request("https://a/q", {})
    assert len(get.calls) == 1


def test_real_server_503_then_200_and_one_request_at_a_time(server: Server) -> None:
    """Against the loopback server, from 4 threads: spacing holds and requests never overlap."""
    hits = {"n": 0}

    def flaky(query: dict[str, str]) -> Reply:
        hits["n"] += 1
        if hits["n"] == 1:
            return Reply(503, b"busy", {"Retry-After": "0"})
        return recorded("arxiv_api_ids.xml", delay=0.02)

    server.route("/api/query", flaky)
    settings = Settings(allow_private_urls=True, arxiv_delay=0.05, fetch_timeout=2)
    shared = ArxivClient(settings, spacing=_Spacing(), lock=threading.Lock())
    threads = [
        threading.Thread(target=shared.request, args=(f"{server.url}/api/query", {"n": str(i)}))
        for i in range(4)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(server.seen) == 5 and server.max_active == 1
    starts = sorted(seen.started for seen in server.seen)
    assert all(b - a >= 0.05 - 1e-3 for a, b in pairwise(starts))
