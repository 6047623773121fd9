"""arXiv ids in every spelling a user pastes, and stable ids for papers that arrive without one."""

from __future__ import annotations

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from paperfeed.ingest.ids import (
    ArxivId,
    InvalidPaperId,
    canonical_id,
    is_arxiv_id,
    is_synthetic,
    parse_arxiv_id,
    synthetic_id,
    title_key,
)
from tests.conftest import arxiv_rows


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("2401.12345", ArxivId("2401.12345")),
        ("2401.12345v2", ArxivId("2401.12345", 2)),
        ("arXiv:2401.12345", ArxivId("2401.12345")),
        ("arxiv:2401.12345v4", ArxivId("2401.12345", 4)),
        ("  ARXIV:2401.12345\n", ArxivId("2401.12345")),
        ("https://arxiv.org/abs/2401.12345v3", ArxivId("2401.12345", 3)),
        ("http://arxiv.org/abs/2401.12345", ArxivId("2401.12345")),
        ("https://www.arxiv.org/abs/2401.12345/", ArxivId("2401.12345")),
        ("https://export.arxiv.org/abs/2401.12345v1?context=cs", ArxivId("2401.12345", 1)),
        ("https://arxiv.org/pdf/2401.12345v1.pdf", ArxivId("2401.12345", 1)),
        ("https://arxiv.org/pdf/2401.12345", ArxivId("2401.12345")),
        ("https://arxiv.org/html/2401.12345v2#S3", ArxivId("2401.12345", 2)),
        ("https://huggingface.co/papers/2401.12345", ArxivId("2401.12345")),
        ("0704.0001", ArxivId("0704.0001")),
        ("1412.9999v1", ArxivId("1412.9999", 1)),
        ("cs/0601001", ArxivId("cs/0601001")),
        ("hep-th/9901001v3", ArxivId("hep-th/9901001", 3)),
        ("math.GT/0309136v2", ArxivId("math.GT/0309136", 2)),
        ("arXiv:math.GT/0309136", ArxivId("math.GT/0309136")),
        ("https://arxiv.org/abs/cond-mat/0102536v1", ArxivId("cond-mat/0102536", 1)),
    ],
)
def test_every_spelling_of_an_arxiv_id_parses_to_one_id(raw: str, expected: ArxivId) -> None:
    assert parse_arxiv_id(raw) == expected


@pytest.mark.parametrize(
    "raw",
    [
        "",
        "   ",
        "2401",
        "2401.123",
        "2401.123456",
        "2401-12345",
        "2401.12345v",
        "2401.12345vX",
        "2401.12345v0",
        "2413.12345",  # there is no 13th month
        "2400.12345",
        "10.1145/3292500.3330701",  # a DOI
        "cs/060100",
        "cs/06010011",
        "/0601001",
        "https://example.org/abs/2401.12345",
        "https://arxiv.org/list/cs.CL/recent",
        "arXiv:",
        "2401.12345 2402.00001",
        "2401.12345\n2402.00001",
        "٢٤٠١.١٢٣٤٥",  # Arabic-Indic digits look like digits to \d, but are no arXiv id
        "2401.12345v" + "9" * 5000,
    ],
)
def test_what_is_not_an_arxiv_id_is_refused(raw: str) -> None:
    with pytest.raises(InvalidPaperId):
        parse_arxiv_id(raw)
    assert not is_arxiv_id(raw)


def test_every_real_arxiv_id_parses_and_prints_back() -> None:
    for row in arxiv_rows(2_000):  # every committed listing
        parsed = parse_arxiv_id(row["id"])
        assert str(parsed) == row["id"]
        assert parse_arxiv_id(f"https://arxiv.org/abs/{row['id']}v2") == ArxivId(row["id"], 2)


@given(st.text())
@example("v1")
@example("arXiv:/")
@example("2401.12345v99999999999999999999")
def test_parsing_any_text_ends_in_an_id_or_invalid_paper_id(raw: str) -> None:
    try:
        parsed = parse_arxiv_id(raw)
    except InvalidPaperId:
        return
    assert parse_arxiv_id(str(parsed)) == parsed
    assert str(parsed).isascii()


@given(st.text(alphabet=st.characters(codec="utf-8"), max_size=200))
def test_canonical_id_of_a_record_without_id_never_fails(title: str) -> None:
    paper_id, version = canonical_id(None, title)
    assert is_synthetic(paper_id)
    assert version is None


REAL_TITLE = "Industrial-Grade Sensor Simulation via Gaussian Splatting: A Modular Framework"


@pytest.mark.parametrize(
    "spelling",
    [
        REAL_TITLE,
        REAL_TITLE.upper(),
        REAL_TITLE.lower(),
        "  Industrial-Grade   Sensor\nSimulation via Gaussian\tSplatting:  A Modular Framework ",
        "Industrial Grade Sensor Simulation via Gaussian Splatting - A Modular Framework.",
        "Indústrial-Gradé Sensor Simulätion via Gaußian Splatting: A Modular Framework",
        "Ｉｎｄｕｓｔｒｉａｌ-Grade Sensor Simulation via Gaussian Splatting: A Modular Framework",
    ],
)
def test_spellings_of_one_title_share_key_and_synthetic_id(spelling: str) -> None:
    assert title_key(spelling) == title_key(REAL_TITLE)
    assert synthetic_id(spelling) == synthetic_id(REAL_TITLE)


def test_different_titles_get_different_synthetic_ids() -> None:
    titles = [row["title"] for row in arxiv_rows(2_000)]
    ids = {synthetic_id(title) for title in titles}
    assert len(ids) == len({title_key(title) for title in titles}) == len(titles)


def test_synthetic_ids_are_stable_across_releases() -> None:
    # Stored papers are found again by this id: changing its derivation would duplicate them.
    assert synthetic_id("Landmark  ATTENTION") == "pf-482f157f4164db82"
    assert synthetic_id("Dense Object Grounding in 3D Scenes") == "pf-1a3c963b56b1e742"


@given(st.text(max_size=200))
def test_title_key_is_idempotent(title: str) -> None:
    key = title_key(title)
    assert title_key(key) == key
    assert title_key(title.upper()) == title_key(title.lower()) or not title.isascii()


def test_month_of_arxiv_id_dates_a_paper_by_its_id() -> None:
    from datetime import date

    from paperfeed.ingest.ids import month_of_arxiv_id

    assert month_of_arxiv_id("2401.12345") == date(2024, 1, 1)
    assert month_of_arxiv_id("arXiv:0704.0001v2") == date(2007, 4, 1)
    assert month_of_arxiv_id("hep-th/9901001") == date(1999, 1, 1)
    assert month_of_arxiv_id("cs/0601001") == date(2006, 1, 1)
    assert month_of_arxiv_id("pf-0123456789abcdef") is None
    assert month_of_arxiv_id("not an id") is None
