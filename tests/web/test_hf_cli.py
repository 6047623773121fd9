"""``hf papers ls|search|info|read`` (the huggingface_hub CLI) and ``HfApi`` against a real
paperfeed server through ``HF_ENDPOINT``: every field paperfeed has reaches the client."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from huggingface_hub import HfApi
from sqlalchemy import Engine

from paperfeed.community.comments import add_comment
from paperfeed.domain import Link
from tests.factories import add_papers, add_user, load_user
from tests.live_server import serve_app
from tests.web.test_pages import real

DAY = date(2026, 5, 4)
HF = Path(sys.executable).with_name("hf")


@pytest.fixture
def site(engine: Engine) -> Iterator[str]:
    code = [Link("code", "https://github.com/o/r", 77), Link("project", "https://p.example.org")]
    pks = add_papers(
        engine,
        real(0, featured_day=DAY, upvotes=3, submitter="akhaliq"),
        real(1, featured_day=DAY, upvotes=8, links=code),
    )
    author = load_user(engine, add_user(engine, "grace"))
    add_comment(engine, author, pks[str(real(1).id)], "Is the **code** released?")
    with serve_app() as url:
        yield url


def hf(site: str, tmp_path: Path, *args: str) -> str:
    env = {
        **os.environ,
        "HF_ENDPOINT": site,
        "HF_HOME": str(tmp_path / "hf-home"),
        "HF_HUB_DISABLE_TELEMETRY": "1",
        "NO_COLOR": "1",
    }
    env.pop("HF_HUB_OFFLINE", None)
    env.pop("HF_TOKEN", None)
    done = subprocess.run(
        [str(HF), "papers", *args], env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_hf_papers_ls_search_info_and_read(site: str, tmp_path: Path) -> None:
    listed: list[dict[str, Any]] = json.loads(
        hf(site, tmp_path, "ls", "--date", "2026-05-04", "--json")
    )
    assert [p["id"] for p in listed] == [real(1).id, real(0).id]
    assert listed[0]["upvotes"] == 8 and listed[0]["github_stars"] == 77
    assert listed[0]["comments"] == 1
    words = " ".join(real(1).title.split()[:5])
    found: list[dict[str, Any]] = json.loads(hf(site, tmp_path, "search", words, "--json"))
    assert found[0]["id"] == real(1).id and found[0]["upvotes"] == 8
    info: dict[str, Any] = json.loads(hf(site, tmp_path, "info", real(1).id, "--json"))
    assert info["title"] == real(1).title and info["github_repo"] == "https://github.com/o/r"
    assert info["project_page"] == "https://p.example.org"
    text = hf(site, tmp_path, "read", real(1).id)
    assert text.startswith(f"# {real(1).title}") and "Is the **code** released?" in text


def test_hf_api_fills_every_field_paperfeed_has(site: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    api = HfApi(endpoint=site, token=False)
    words = " ".join(real(1).title.split()[:5])
    (hit, *_) = api.list_papers(query=words)
    assert hit.id == real(1).id and hit.upvotes == 8 and hit.comments == 1
    assert hit.github_repo == "https://github.com/o/r" and hit.github_stars == 77
    assert hit.project_page == "https://p.example.org" and hit.submitted_at is not None
    info = api.paper_info(real(0).id)
    assert info.discussion_id == real(0).id and info.source == "paperfeed"
    assert info.submitted_by is not None and info.submitted_by.username == "akhaliq"
    assert info.published_at is not None and info.summary == real(0).abstract
    markdown = api.read_paper(real(1).id)
    assert "## Discussion (1 comment)" in markdown and "**Upvotes:** 8" in markdown
    assert "[Code (★ 77)](<https://github.com/o/r>)" in markdown
