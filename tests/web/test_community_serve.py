"""Two `paperfeed serve` processes on one database under concurrent upvotes: no vote lost,
none counted twice (issue 4's test; run on both backends)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
from sqlalchemy import Engine, func, select

from paperfeed.community.sessions import create_api_token
from paperfeed.store.community_schema import paper_stats, votes
from tests.factories import add_paper, add_user
from tests.live_server import free_port

USERS = 16


def _serve(database_url: str, data_dir: Path) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    env = {**os.environ, "PAPERFEED_DATABASE_URL": database_url}
    env["PAPERFEED_DATA_DIR"] = str(data_dir)
    command = [sys.executable, "-m", "paperfeed", "serve", "--host", "127.0.0.1"]
    process = subprocess.Popen(
        [*command, "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    return process, f"http://127.0.0.1:{port}"


def _wait_ready(process: subprocess.Popen[bytes], url: str) -> None:
    for _ in range(600):  # up to a minute on a busy machine
        if process.poll() is not None:
            error = process.stderr.read().decode() if process.stderr else ""
            pytest.fail(f"serve exited early: {error[-2000:]}")
        try:
            if httpx.get(f"{url}/healthz", timeout=1.0).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    pytest.fail(f"serve at {url} did not become ready")


@pytest.fixture
def two_servers(engine: Engine, database_url: str, tmp_path: Path) -> Iterator[list[str]]:
    started = [_serve(database_url, tmp_path / "data") for _ in range(2)]
    try:
        for process, url in started:
            _wait_ready(process, url)
        yield [url for _, url in started]
    finally:
        for process, _ in started:
            process.terminate()
        for process, _ in started:
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def _counts(engine: Engine, paper_pk: int) -> tuple[int, int]:
    with engine.connect() as conn:
        rows = conn.execute(select(func.count()).where(votes.c.paper_pk == paper_pk)).scalar_one()
        stats = conn.execute(
            select(paper_stats.c.upvotes).where(paper_stats.c.paper_pk == paper_pk)
        ).scalar()
    return int(rows), int(stats or 0)


def test_two_servers_under_concurrent_upvotes_count_each_vote_once(
    engine: Engine, two_servers: list[str]
) -> None:
    paper = add_paper(engine, "2401.12345")
    tokens = [create_api_token(engine, add_user(engine), "load") for _ in range(USERS)]

    def vote(job: tuple[str, str, bool]) -> int:
        url, token, want = job
        headers = {"Authorization": f"Bearer {token}"}
        response = httpx.post(
            f"{url}/api/papers/2401.12345/upvote",
            json={"upvoted": want},
            headers=headers,
            timeout=30.0,
        )
        return response.status_code

    # Every user upvotes through both servers at once: one vote each.
    jobs = [(url, token, True) for token in tokens for url in two_servers]
    with ThreadPoolExecutor(max_workers=8) as pool:
        statuses = list(pool.map(vote, jobs))
    assert statuses == [200] * len(jobs)
    assert _counts(engine, paper) == (USERS, USERS)
    # Half of them take it back, again through both servers at once.
    jobs = [(url, token, False) for token in tokens[: USERS // 2] for url in two_servers]
    with ThreadPoolExecutor(max_workers=8) as pool:
        statuses = list(pool.map(vote, jobs))
    assert statuses == [200] * len(jobs)
    assert _counts(engine, paper) == (USERS // 2, USERS // 2)
    final = httpx.post(
        f"{two_servers[0]}/api/papers/2401.12345/upvote",
        json={"upvoted": True},
        headers={"Authorization": f"Bearer {tokens[-1]}"},
    )
    assert final.json()["upvotes"] == USERS // 2
