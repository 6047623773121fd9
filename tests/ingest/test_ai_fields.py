"""Hugging Face's ``ai_summary`` and ``ai_keywords``: read from the recorded Daily Papers answer,
normalised, stored on both backends by the plain and the bulk path, kept by an import without
them and replaced by one with them."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine

from paperfeed.domain import Paper, PaperRecord, RecordError
from paperfeed.ingest.formats import ParseOptions
from paperfeed.ingest.normalise import MAX_AI_KEYWORD, MAX_AI_KEYWORDS, MAX_AI_SUMMARY, prepare
from paperfeed.ingest.service import run_ingest
from paperfeed.ingest.sources import file_source
from paperfeed.store.papers import get_paper
from tests.conftest import REPO
from tests.store.dbstate import ListSource

RECORDED = REPO / "tests" / "data" / "recorded" / "hf_daily_2024-01-12.json"
PALP = "2401.06105"


def recorded_items() -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = json.loads(RECORDED.read_text())
    return items


def palp_item() -> dict[str, Any]:
    return next(i for i in recorded_items() if "ai_summary" in i["paper"])


def stored(engine: Engine, paper_id: str) -> Paper:
    with engine.connect() as conn:
        paper = get_paper(conn, paper_id)
    assert paper is not None
    return paper


def ingest_file(engine: Engine, path: Path, *, bulk: bool = False) -> None:
    source = file_source(str(path), "hf-daily", ParseOptions())
    run_ingest(engine, source, parallel=bulk, bulk=bulk)


@pytest.mark.parametrize("bulk", [False, True], ids=["plain", "bulk"])
def test_recorded_ai_fields_are_stored_and_others_stay_empty(engine: Engine, bulk: bool) -> None:
    ingest_file(engine, RECORDED, bulk=bulk)
    hub = palp_item()["paper"]
    assert hub["id"] == PALP
    palp = stored(engine, PALP)
    assert palp.ai_summary == hub["ai_summary"]
    assert palp.ai_keywords == hub["ai_keywords"]
    for item in recorded_items():
        if item["paper"]["id"] != PALP:
            other = stored(engine, item["paper"]["id"])
            assert other.ai_summary is None and other.ai_keywords == []


def test_an_import_without_them_keeps_them_and_one_with_them_replaces_them(
    engine: Engine, tmp_path: Path
) -> None:
    ingest_file(engine, RECORDED)
    bare = recorded_items()
    for item in bare:
        item["paper"].pop("ai_summary", None)
        item["paper"].pop("ai_keywords", None)
        item["paper"]["upvotes"] += 1
    (tmp_path / "bare.json").write_text(json.dumps(bare))
    ingest_file(engine, tmp_path / "bare.json")
    kept = stored(engine, PALP)
    assert kept.upvotes == palp_item()["paper"]["upvotes"] + 1  # the import did land
    assert kept.ai_summary == palp_item()["paper"]["ai_summary"]
    assert kept.ai_keywords == palp_item()["paper"]["ai_keywords"]

    newer = [palp_item()]
    newer[0]["paper"] |= {"ai_summary": "A newer summary.", "ai_keywords": ["diffusion"]}
    (tmp_path / "newer.json").write_text(json.dumps(newer))
    ingest_file(engine, tmp_path / "newer.json")
    updated = stored(engine, PALP)
    assert (updated.ai_summary, updated.ai_keywords) == ("A newer summary.", ["diffusion"])


def test_stored_values_are_the_normalised_ones(engine: Engine) -> None:
    record = PaperRecord(
        id="2401.00001",
        title="A paper",
        abstract="Text.",
        ai_summary="  Two\n  lines.  ",
        ai_keywords=[" LLM ", "llm", "", "  ", "text\tto image", "RLHF"],
    )
    run_ingest(engine, ListSource([record]))
    paper = stored(engine, "2401.00001")
    assert paper.ai_summary == "Two lines."
    assert paper.ai_keywords == ["LLM", "text to image", "RLHF"]


def _problem(**fields: Any) -> str:
    record = PaperRecord(id="2401.00001", title="T", abstract="A", location="x.json record 3")
    for name, value in fields.items():
        setattr(record, name, value)
    result = prepare(record)
    assert isinstance(result, RecordError), result
    assert result.location == "x.json record 3"
    return result.reason


def test_bad_ai_fields_are_refused_with_the_field_named() -> None:
    assert "ai_summary longer than" in _problem(ai_summary="x" * (MAX_AI_SUMMARY + 1))
    many = [f"k{i}" for i in range(MAX_AI_KEYWORDS + 1)]
    assert f"more than {MAX_AI_KEYWORDS} ai_keywords" in _problem(ai_keywords=many)
    assert "ai_keywords entry longer" in _problem(ai_keywords=["x" * (MAX_AI_KEYWORD + 1)])
    assert _problem(ai_summary="a\x00b") == "NUL character in ai_summary"
    assert _problem(ai_keywords=["ok", "b\x00"]) == "NUL character in ai_keywords"


def test_at_the_caps_they_are_accepted() -> None:
    record = PaperRecord(
        id="2401.00001",
        title="T",
        abstract="A",
        ai_summary="x" * MAX_AI_SUMMARY,
        ai_keywords=[f"{i:0{MAX_AI_KEYWORD}d}" for i in range(MAX_AI_KEYWORDS)],
    )
    assert not isinstance(prepare(record), RecordError)
