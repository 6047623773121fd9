"""The quick start as a user runs it: what `make run` does, in a fresh data folder.

The commands are the ones the Makefile's `run` target runs (checked below), each a separate
process; the server is a real `paperfeed serve` on a free 127.0.0.1 port, stopped at the end.
"""

from __future__ import annotations

import gzip
import json
import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from paperfeed.ingest.sample import SAMPLE_DIR
from tests.live_server import free_port

REPO = Path(__file__).resolve().parent.parent
SEED_TITLE = "Dense Object Grounding in 3D Scenes"
START_TIMEOUT_S = 60


@pytest.fixture
def user_env(tmp_path: Path) -> dict[str, str]:
    """A new user's environment: no PAPERFEED_* settings, an empty data folder."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PAPERFEED_")}
    env["PAPERFEED_DATA_DIR"] = str(tmp_path / "data")
    env["PAPERFEED_CONFIG"] = ""
    return env


def paperfeed(env: dict[str, str], cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "paperfeed", *args]
    result = subprocess.run(command, env=env, cwd=cwd, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, f"paperfeed {' '.join(args)}:\n{result.stderr}"
    return result


@pytest.fixture
def quick_start(user_env: dict[str, str], tmp_path: Path) -> dict[str, str]:
    paperfeed(user_env, tmp_path, "db", "upgrade")
    paperfeed(user_env, tmp_path, "ingest", "--sample", "--if-empty")
    # `make run` again: the data is kept and the sample is not loaded twice.
    again = paperfeed(user_env, tmp_path, "ingest", "--sample", "--if-empty")
    assert "nothing to do" in " ".join(again.stderr.split())
    assert (tmp_path / "data" / "paperfeed.db").is_file()
    return user_env


@pytest.fixture
def server(quick_start: dict[str, str], tmp_path: Path) -> Iterator[str]:
    """`paperfeed serve` on a free port after the quick start; yields its URL once it answers."""
    port = free_port()
    command = [sys.executable, "-m", "paperfeed", "serve", "--port", str(port)]
    log = tmp_path / "serve.log"  # a file, not a pipe: a pipe nobody reads can fill and block
    with open(log, "wb") as output:
        process = subprocess.Popen(
            command, env=quick_start, cwd=tmp_path, stdout=output, stderr=subprocess.STDOUT
        )
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until_up(process, base, log)
        yield base
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def wait_until_up(process: subprocess.Popen[bytes], base: str, log: Path) -> None:
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"paperfeed serve exited with {process.returncode}:\n{log.read_text()}")
        try:
            if httpx.get(f"{base}/healthz", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    pytest.fail(f"paperfeed serve did not answer within {START_TIMEOUT_S} s:\n{log.read_text()}")


def latest_slice_ids() -> set[str]:
    """The arXiv ids listed on the newest day of the bundled slice."""
    with gzip.open(SAMPLE_DIR / "arxiv-listings.jsonl.gz", "rt", encoding="utf-8") as handle:
        rows = [json.loads(line) for line in handle if line.strip()]
    newest = max(row["listed"] for row in rows)
    return {row["id"] for row in rows if row["listed"] == newest}


def test_makefile_run_target_is_what_this_test_runs() -> None:
    makefile = (REPO / "Makefile").read_text(encoding="utf-8")
    recipe = makefile.split("\nrun:", 1)[1].split("\n\n", 1)[0]
    commands = re.findall(r"\$\(BIN\)/paperfeed ([^\n$]+)", recipe)
    assert [c.strip() for c in commands][:2] == ["db upgrade", "ingest --sample --if-empty"]
    assert commands[2].startswith("serve")


def test_quick_start_serves_the_sample(server: str) -> None:
    response = httpx.get(f"{server}/", timeout=30)
    assert response.status_code == 200
    shown = set(re.findall(r'href="https://arxiv\.org/abs/([^"]+)"', response.text))
    assert shown & latest_slice_ids(), "the newest day of the arXiv slice is on the page"
    # The home page holds the newest day; the seed page's papers are a search away.
    found = httpx.get(f"{server}/search", params={"q": SEED_TITLE}, timeout=30)
    assert found.status_code == 200 and SEED_TITLE in found.text


def test_quick_start_has_real_signal_from_the_first_start(server: str) -> None:
    """Trending is not empty: the sample's Hugging Face days carry real upvotes, and the page
    says which day it is as of; the upvotes shown are the Hub's."""
    with gzip.open(SAMPLE_DIR / "hf-daily-papers.json.gz", "rt", encoding="utf-8") as handle:
        hub = json.load(handle)
    page = httpx.get(f"{server}/trending", timeout=30).text
    last_day = max(paper["publication_date"][:10] for paper in hub.values())
    assert f"as of {last_day}" in page
    ranked = httpx.get(f"{server}/api/trending?limit=5", timeout=30).json()
    assert len(ranked) == 5
    for item in ranked:
        assert item["upvotes"] == hub[item["id"]]["upvotes"]
