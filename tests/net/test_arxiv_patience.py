"""What the arXiv client retries, and for how long: not a host that cannot be reached at all,
and busy answers only within its patience (seconds of waiting in all)."""

from __future__ import annotations

from typing import Any

import pytest

from paperfeed.config import Settings
from paperfeed.ingest.net.arxiv_client import ArxivError
from paperfeed.ingest.net.http import Response, Unreachable
from tests.net.test_arxiv_client import FakeTime, answers, client


def test_an_unreachable_host_is_asked_once() -> None:
    fake = FakeTime()
    calls: list[str] = []

    def no_dns(url: str, settings: Settings) -> Response:
        calls.append(url)
        raise Unreachable(url, "ConnectError: cannot resolve export.arxiv.invalid")

    with pytest.raises(Unreachable):
        client(Settings(arxiv_delay=0), fake, no_dns).request("https://a.example/q", {})
    assert len(calls) == 1 and fake.sleeps == []


@pytest.mark.parametrize(("patience", "sleeps"), [(8.0, [2.0, 4.0]), (900.0, [2.0, 4.0, 8.0])])
def test_busy_answers_are_retried_within_the_patience(patience: float, sleeps: list[float]) -> None:
    fake = FakeTime()
    get: Any = answers(*[503] * 4)
    polite = client(Settings(arxiv_delay=0, arxiv_max_retries=3), fake, get)
    polite.patience = patience
    with pytest.raises(ArxivError, match=rf"after {len(sleeps) + 1} attempts \(last: HTTP 503\)"):
        polite.request("https://a.example/q", {})
    assert fake.sleeps == sleeps and len(get.calls) == len(sleeps) + 1


def test_a_retry_after_longer_than_the_patience_is_not_waited_for() -> None:
    fake = FakeTime()
    get: Any = answers(503, 200, **{"Retry-After": "120"})
    polite = client(Settings(arxiv_delay=0), fake, get)
    polite.patience = 8.0
    with pytest.raises(ArxivError, match=r"after 1 attempt \(last: HTTP 503\)"):
        polite.request("https://a.example/q", {})
    assert fake.sleeps == []
