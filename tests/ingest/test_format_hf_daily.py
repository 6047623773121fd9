"""Hugging Face Daily Papers JSON: the /api/daily_papers list, a bare paper, the keyed sample."""

from __future__ import annotations

import io
import json
from datetime import date
from typing import Any

import orjson
import pytest

from paperfeed.domain import Link, PaperRecord, RecordError
from paperfeed.ingest.formats import IngestError, Item, ParseOptions
from paperfeed.ingest.formats.hf_daily import parse
from tests.conftest import HF_DAILY, TEST_DATA

API_SAMPLE = TEST_DATA / "formats" / "hf-daily-papers-api.json"
KEYED_SAMPLE = TEST_DATA / "formats" / "hf-daily-keyed.json"


def run(data: bytes | Any, name: str = "hf.json") -> list[Item]:
    raw = data if isinstance(data, bytes) else orjson.dumps(data)
    return list(parse(io.BytesIO(raw), name, ParseOptions()))


def records(items: list[Item]) -> list[PaperRecord]:
    assert all(isinstance(item, PaperRecord) for item in items), items
    return [item for item in items if isinstance(item, PaperRecord)]


def api_items() -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = json.loads(API_SAMPLE.read_text())
    return items


def test_daily_papers_api_list() -> None:
    spin, longlm, larp = records(run(API_SAMPLE.read_bytes()))
    assert spin.id == "2401.01335"
    assert spin.title.startswith("Self-Play Fine-Tuning Converts Weak Language Models")
    assert spin.abstract == api_items()[0]["paper"]["summary"]
    assert spin.authors[:2] == ["Zixiang Chen", "Yihe Deng"]
    assert spin.published == date(2024, 1, 2)  # paper.publishedAt: on arXiv
    assert spin.featured_day == date(2024, 1, 3)  # the item's publishedAt: on Daily Papers
    assert spin.upvotes == 61
    assert spin.submitter == "akhaliq"
    assert Link("code", "https://github.com/uclaml/SPIN", 1180) in spin.links
    assert Link("abs", "https://arxiv.org/abs/2401.01335") in spin.links
    assert longlm.location == "hf.json record 2"
    assert larp.featured_day == date(2024, 1, 1)
    assert Link("project", "https://miao-ai-lab.github.io/LARP/") in larp.links
    assert not any(link.kind == "code" for link in larp.links)


def test_keyed_sample_shape() -> None:
    found = records(run(KEYED_SAMPLE.read_bytes()))
    assert [r.id for r in found] == ["2312.17653", "2401.01335", "2401.01614"]
    larp = found[0]
    assert larp.title == "LARP: Language-Agent Role Play for Open-World Games"
    assert larp.authors[0] == "Ming Yan"
    assert larp.upvotes == 29
    assert larp.published == larp.featured_day == date(2023, 12, 24)


def test_the_whole_committed_sample_parses_with_its_upvotes() -> None:
    sample = json.loads(HF_DAILY.read_text())
    found = records(run(HF_DAILY.read_bytes()))
    assert len(found) == len(sample) == 100
    assert {r.id: r.upvotes for r in found} == {k: v["upvotes"] for k, v in sample.items()}
    assert all(r.featured_day is not None for r in found)


def test_bare_paper_object_uses_submitted_on_daily_at() -> None:
    paper = api_items()[0]["paper"]
    (record,) = records(run(paper))
    assert record.published == date(2024, 1, 2)
    assert record.featured_day == date(2024, 1, 3)
    assert record.submitter == "akhaliq"  # submittedOnDailyBy.user
    del paper["submittedOnDailyAt"]
    (never_featured,) = records(run(paper))
    assert never_featured.featured_day is None


def test_github_fields_at_the_item_top_level_are_read_too() -> None:
    item = api_items()[1]
    item["githubRepo"] = item["paper"].pop("githubRepo")
    item["githubStars"] = item["paper"].pop("githubStars")
    (record,) = records(run([item]))
    assert Link("code", "https://github.com/datamllab/LongLM", 658) in record.links


def test_bad_items_are_reported_and_the_rest_parse() -> None:
    good, second, third = api_items()
    second["paper"]["githubRepo"] = "javascript:alert(1)"
    del third["title"], third["paper"]["title"]
    items = run([good, 42, second, third, {"paper": {"id": "x", "title": ["a"]}, "title": None}])
    assert isinstance(items[0], PaperRecord)
    assert items[1] == RecordError("hf.json record 2", "record is not a JSON object")
    assert items[2] == RecordError(
        "hf.json record 3", "githubRepo is not an http(s) URL: 'javascript:alert(1)'"
    )
    assert items[3] == RecordError("hf.json record 4", "missing title")
    assert items[4] == RecordError("hf.json record 5", "title is not a string (list)")


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"not json", r"^hf\.json: not a JSON document"),
        (b'[{"paper": {}', r"^hf\.json: not a JSON document"),
        (b'"a string"', r"^hf\.json: expected a JSON array or object of papers"),
        (b'{"error": "Invalid date"}', r"^hf\.json: a JSON object with no papers"),
    ],
)
def test_unreadable_documents_are_ingest_errors(body: bytes, message: str) -> None:
    with pytest.raises(IngestError, match=message):
        run(body)


def test_empty_list_is_no_papers() -> None:
    assert run(b"[]") == []


def test_ai_summary_and_keywords_are_read_where_the_hub_sends_them() -> None:
    recorded = TEST_DATA / "recorded" / "hf_daily_2024-01-12.json"
    by_id = {r.id: r for r in records(run(recorded.read_bytes()))}
    palp = by_id["2401.06105"]
    assert palp.ai_summary == "PALP personalises text-to-image models on one prompt."
    assert palp.ai_keywords == ["personalization", "text-to-image", "score distillation"]
    assert by_id["2401.06066"].ai_summary is None and by_id["2401.06066"].ai_keywords == []
    # A bare paper object (/api/papers/{id}) carries them at its top level.
    bare = {"id": "2401.00001", "title": "T", "ai_summary": "S.", "ai_keywords": ["k"]}
    (found,) = records(run(bare))
    assert (found.ai_summary, found.ai_keywords) == ("S.", ["k"])


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"ai_keywords": "llm, rlhf"}, "ai_keywords is not a list (str)"),
        ({"ai_keywords": ["llm", 3]}, "ai_keywords has a int, not a string"),
        ({"ai_summary": 7}, "ai_summary"),
    ],
)
def test_ai_fields_of_the_wrong_shape_are_record_errors(
    fields: dict[str, Any], message: str
) -> None:
    item = {"paper": {"id": "2401.00001", "title": "T", **fields}}
    (error,) = run([item])
    assert isinstance(error, RecordError)
    assert error.location == "hf.json record 1" and message in error.reason
