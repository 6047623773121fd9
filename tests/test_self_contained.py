"""A clone alone passes its tests: no test reads beside the repository (the shared data folder
and the like), and the committed data gives what the tests ask of it."""

from __future__ import annotations

import gzip
import re
from pathlib import Path

import pytest

from paperfeed.ingest.ids import parse_arxiv_id, title_key
from tests import repository_guard
from tests.conftest import REPO, arxiv_rows, arxiv_volume
from tests.repository_guard import Guard, ReadBesideTheRepository

# Not a real folder: the guard decides from the path, before anything is opened.
ELSEWHERE = Path("/nonexistent-paperfeed-root")


@pytest.fixture
def guarded_elsewhere(monkeypatch: pytest.MonkeyPatch) -> Path:
    """The process's audit hook now guards a repository at ELSEWHERE / "paperfeed"."""
    assert repository_guard.guard is not None, "conftest's pytest_configure installs the guard"
    monkeypatch.setattr(repository_guard, "guard", Guard(ELSEWHERE / "paperfeed"))
    return ELSEWHERE / "paperfeed"


def test_the_guard_watches_this_repository() -> None:
    assert repository_guard.guard is not None
    assert repository_guard.guard.repository == str(REPO.resolve())


@pytest.mark.parametrize(
    "beside",
    ["shared/data/arxiv-daily-2025-2026.jsonl.gz", "shared/seeds/page.txt", "other-clone/x.json"],
)
def test_opening_a_file_beside_the_repository_fails_the_test(
    guarded_elsewhere: Path, beside: str
) -> None:
    with pytest.raises(ReadBesideTheRepository, match="beside the repository"):
        open(ELSEWHERE / beside, "rb")  # noqa: SIM115 (it never opens)
    with pytest.raises(ReadBesideTheRepository):
        gzip.open(str(guarded_elsewhere / ".." / beside))  # noqa: SIM115 (a relative way there)


def test_files_in_the_repository_and_temporary_files_may_be_read(
    guarded_elsewhere: Path, tmp_path: Path
) -> None:
    (tmp_path / "written.txt").write_text("a test's own file")
    assert (tmp_path / "written.txt").read_text() == "a test's own file"
    with pytest.raises(FileNotFoundError):  # not refused: inside the repository
        open(guarded_elsewhere / "tests" / "data" / "missing.json", "rb")  # noqa: SIM115
    assert not Guard(ELSEWHERE / "paperfeed").is_beside(str(ELSEWHERE / "paperfeed" / "x"))


# Second line of defence: the same mistake, as it would be written.
NAMES_A_FOLDER_BESIDE = re.compile(r"""["']shared["']|\.\./shared|/shared/|parents\[[2-9]\]""")


def test_no_test_module_names_a_folder_beside_the_repository() -> None:
    here = Path(__file__).resolve()
    offending = [
        f"{path.relative_to(REPO)}:{number}: {line.strip()}"
        for path in sorted((REPO / "tests").rglob("*.py"))
        if path != here
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if NAMES_A_FOLDER_BESIDE.search(line)
    ]
    assert offending == [], "tests read only the repository's files:\n" + "\n".join(offending)


def test_the_committed_listings_refuse_more_rows_than_they_hold() -> None:
    assert len(arxiv_rows(2_000)) == 2_000
    with pytest.raises(ValueError, match="arxiv_volume"):
        arxiv_rows(1, start=2_000)


def test_volume_is_the_real_rows_then_distinct_papers_with_valid_ids() -> None:
    volume = arxiv_volume(5_000)
    assert volume[:2_000] == arxiv_rows(2_000)
    ids = [parse_arxiv_id(str(row["id"])) for row in volume]
    assert len(set(ids)) == len({title_key(str(row["title"])) for row in volume}) == 5_000
    assert volume[2_000]["abstract"] == volume[0]["abstract"]  # a copy, under another id
    assert arxiv_volume(5_000) == volume
