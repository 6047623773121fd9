"""``paperfeed serve --workers 2``: the page cache of each worker process is renewed by a write
made through the other (the generation lives in the database), on both backends."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import Engine

from paperfeed.community.sessions import create_api_token
from tests.factories import add_paper, add_user
from tests.live_server import free_port

PAGE = "/papers/2401.12345"
TRIES = 400


@pytest.fixture
def two_workers(engine: Engine, database_url: str, tmp_path: Path) -> Iterator[str]:
    port = free_port()
    env = {**os.environ, "PAPERFEED_DATABASE_URL": database_url}
    env["PAPERFEED_DATA_DIR"] = str(tmp_path / "data")
    command = [sys.executable, "-m", "paperfeed", "serve", "--host", "127.0.0.1"]
    process = subprocess.Popen(
        [*command, "--port", str(port), "--workers", "2"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_ready(process, url)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _wait_ready(process: subprocess.Popen[bytes], url: str) -> None:
    for _ in range(900):  # up to 90 s on a busy machine: two processes import the app
        if process.poll() is not None:
            error = process.stderr.read().decode() if process.stderr else ""
            pytest.fail(f"serve exited early: {error[-2000:]}")
        try:
            if httpx.get(f"{url}/healthz", timeout=2.0).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    pytest.fail(f"serve at {url} did not become ready")


def _until_both_workers_rendered(url: str) -> list[httpx.Response]:
    """Anonymous GETs of PAGE, each on a new connection (the kernel hands each to either
    worker), until two misses: a worker renders the page once per generation, so two misses
    are the two workers."""
    seen = []
    for _ in range(TRIES):
        seen.append(httpx.get(f"{url}{PAGE}", headers={"Connection": "close"}, timeout=30))
        if [r.headers["x-page-cache"] for r in seen].count("miss") == 2:
            return seen
    pytest.fail(f"{TRIES} connections did not reach both workers")


def test_a_vote_through_one_worker_is_seen_through_the_other(
    engine: Engine, two_workers: str
) -> None:
    add_paper(engine, "2401.12345", title="Landmark Attention")
    token = create_api_token(engine, add_user(engine), "test")
    before = _until_both_workers_rendered(two_workers)
    assert all('class="vote-count">0<' in r.text for r in before)
    vote = httpx.post(
        f"{two_workers}/api/papers/2401.12345/upvote",
        json={"upvoted": True},
        headers={"Authorization": f"Bearer {token}", "Connection": "close"},
        timeout=30,
    )
    assert vote.status_code == 200, vote.text
    after = _until_both_workers_rendered(two_workers)
    # Not one stale page from either worker's cache.
    assert all('class="vote-count">1<' in r.text for r in after)
