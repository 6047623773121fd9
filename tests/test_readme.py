"""The README is read in two minutes, and no document points at a file that is not there."""

from __future__ import annotations

import re
from pathlib import Path

from paperfeed.config import setting_env_names
from tests.web import chromium

REPO = Path(__file__).resolve().parent.parent
README = REPO / "README.md"
DOCS = sorted((REPO / "docs").glob("*.md"))
# Every Markdown document of the repository that a reader is sent to.
DOCUMENTS = [README, REPO / "BENCHMARKS.md", *DOCS]
LINK = re.compile(r"\]\(([^)\s]+)\)")


def test_the_readme_is_short() -> None:
    lines = README.read_text(encoding="utf-8").count("\n")
    assert lines <= 200, f"README.md has {lines} lines: move the detail to docs/"


def test_quick_start_is_the_two_commands() -> None:
    readme = README.read_text(encoding="utf-8")
    quick_start = readme.split("## Quick start", 1)[1].split("\n## ", 1)[0]
    assert re.findall(r"```sh\n(.*?)\n```", quick_start, re.DOTALL) == ["make run", "make test"]


def test_the_readme_shows_a_screenshot_of_the_home_page() -> None:
    readme = README.read_text(encoding="utf-8")
    assert "![" in readme and "(docs/screenshots/home.png)" in readme
    png = REPO / "docs" / "screenshots" / "home.png"
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert png.stat().st_size < 300_000


def test_docs_name_no_setting_that_does_not_exist() -> None:
    known = {*setting_env_names(), "PAPERFEED_CONFIG", *chromium.VARIABLES}
    for document in [README, *DOCS]:
        named = set(re.findall(r"PAPERFEED_[A-Z_]+", document.read_text(encoding="utf-8")))
        # The test suite's variables and a shell variable of an example are not settings.
        named = {n for n in named if not n.startswith("PAPERFEED_TEST_") and n != "PAPERFEED_TOKEN"}
        assert named <= known, f"{document.name} names unknown settings: {sorted(named - known)}"


def test_local_links_resolve_inside_the_repository() -> None:
    for document in DOCUMENTS:
        text = document.read_text(encoding="utf-8")
        outside = re.search(r"\.\./shared", text)  # the data folder beside a checkout
        assert not outside, f"{document.name} points outside the repository"
        for target in LINK.findall(text):
            if re.match(r"[a-z]+:", target) or target.startswith("#"):
                continue
            file, _, anchor = target.partition("#")
            path = (document.parent / file).resolve()
            where = f"{document.relative_to(REPO)} links to {target}"
            assert path.is_relative_to(REPO), f"{where}, outside the repository"
            assert path.exists(), f"{where}, which does not exist"
            if anchor and path.suffix == ".md":
                assert anchor in _anchors(path), f"{where}, a heading that does not exist"


def _anchors(page: Path) -> set[str]:
    """The anchors GitHub gives a page's headings: lower case, punctuation dropped."""
    headings = re.findall(r"^#+ (.+)$", page.read_text(encoding="utf-8"), re.MULTILINE)
    return {re.sub(r"[^\w\- ]", "", h.strip().lower()).replace(" ", "-") for h in headings}


def test_the_docs_index_lists_every_page() -> None:
    index = (REPO / "docs" / "README.md").read_text(encoding="utf-8")
    for page in DOCS:
        if page.name != "README.md":
            assert f"]({page.name})" in index, f"docs/README.md does not list {page.name}"
