"""`paperfeed serve --port P` with no PAPERFEED_BASE_URL: absolute links name the port it serves.

A real `paperfeed serve` process on a free 127.0.0.1 port; its feed and its API's ``url``
fields must point back at that port, not at the default :8000.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from typer.testing import Result

from paperfeed.config import DEFAULT_BASE_URL, served_base_url
from paperfeed.services import get_engine
from tests.conftest import REPO
from tests.factories import add_paper
from tests.live_server import free_port

START_TIMEOUT_S = 60


def _serve_env() -> dict[str, str]:
    env = dict(os.environ)  # the test's data dir and no other PAPERFEED_* (conftest)
    env.pop("PAPERFEED_BASE_URL", None)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO / "src"), env.get("PYTHONPATH")]))
    return env


@pytest.fixture
def served(store: Result, tmp_path: Path) -> Iterator[str]:
    """`paperfeed serve --port P` over a store holding one paper; yields its URL once up."""
    add_paper(get_engine(), "2401.12345", title="Links that follow the port")
    port = free_port()
    log = tmp_path / "serve.log"
    command = [sys.executable, "-m", "paperfeed", "serve", "--host", "127.0.0.1"]
    with open(log, "wb") as output:
        process = subprocess.Popen(
            [*command, "--port", str(port)], env=_serve_env(), stdout=output, stderr=output
        )
    base = f"http://127.0.0.1:{port}"
    try:
        _wait_until_up(process, base, log)
        yield base
    finally:
        process.terminate()
        process.wait(timeout=30)


def _wait_until_up(process: subprocess.Popen[bytes], base: str, log: Path) -> None:
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        assert process.poll() is None, f"serve exited:\n{log.read_text()}"
        try:
            if httpx.get(f"{base}/healthz", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            time.sleep(0.2)
    pytest.fail(f"serve did not answer within {START_TIMEOUT_S} s:\n{log.read_text()}")


def test_feed_and_api_links_use_the_served_port(served: str) -> None:
    feed = httpx.get(f"{served}/feeds/daily.rss", timeout=30)
    assert feed.status_code == 200
    assert f"<link>{served}/papers/2401.12345</link>" in feed.text
    assert ":8000" not in feed.text
    api = httpx.get(f"{served}/api/daily_papers", params={"date": "2026-05-04"}, timeout=30)
    urls = [item["paper"]["url"] for item in api.json()]
    assert urls == [f"{served}/papers/2401.12345"]


def test_a_configured_base_url_wins_over_the_served_address(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from paperfeed import config

    monkeypatch.delenv("PAPERFEED_BASE_URL", raising=False)  # restored (unset) afterwards
    assert config.use_served_address("127.0.0.1", 8765) == "http://127.0.0.1:8765"
    monkeypatch.setenv("PAPERFEED_BASE_URL", "https://papers.example.org")
    config.get_settings.cache_clear()
    assert config.use_served_address("127.0.0.1", 8765) == "https://papers.example.org"


def test_commands_that_do_not_serve_keep_the_default() -> None:
    from paperfeed.config import get_settings

    assert get_settings().base_url == DEFAULT_BASE_URL


@pytest.mark.parametrize(
    ("host", "url"),
    [
        ("127.0.0.1", "http://127.0.0.1:8765"),
        ("0.0.0.0", "http://127.0.0.1:8765"),
        ("::", "http://[::1]:8765"),
        ("::1", "http://[::1]:8765"),
        ("papers.local", "http://papers.local:8765"),
    ],
)
def test_the_served_address_as_a_link(host: str, url: str) -> None:
    assert served_base_url(host, 8765) == url
