"""BibTeX: entries with title, abstract, authors, dates, arXiv ids, DOIs, keywords."""

from __future__ import annotations

import io
from datetime import date

import pytest

from paperfeed.domain import Link, PaperRecord, RecordError
from paperfeed.ingest.formats import IngestError, Item, ParseOptions
from paperfeed.ingest.formats.bibtex import authors, parse
from paperfeed.ingest.formats.fields import delatex
from tests.conftest import TEST_DATA

SAMPLE = TEST_DATA / "formats" / "papers.bib"


def run(text: str | bytes, name: str = "refs.bib") -> list[Item]:
    data = text.encode() if isinstance(text, str) else text
    return list(parse(io.BytesIO(data), name, ParseOptions()))


def test_sample_entries() -> None:
    items = run(SAMPLE.read_bytes(), "papers.bib")
    safe, industrial, broken, third = items
    assert isinstance(safe, PaperRecord)
    assert safe.title == "Safe Vision-Language Models via Unsafe Weights Manipulation"
    assert safe.id == "2503.11742"
    assert safe.authors[0] == "Moreno D'Incà"  # D'Inc{\`a}
    assert safe.categories == ["cs.CV"]
    assert safe.published == date(2025, 3, 1)
    assert safe.abstract.startswith("Vision-language models (VLMs) often inherit the biases")
    assert safe.location == "papers.bib entry 1 (dinca2025safe) line 2"

    assert isinstance(industrial, PaperRecord)
    assert industrial.id == "2503.11731"  # from "arXiv preprint arXiv:2503.11731"
    assert industrial.journal_ref is None
    assert "via Gaussian Splatting" in industrial.title  # {G}aussian loses its braces
    assert industrial.authors[:2] == ["Xianming Zeng", "Sicong Du"]

    assert isinstance(broken, RecordError)
    assert broken.location == "papers.bib entry 3 (broken2025) line 21"
    assert broken.reason.startswith("malformed entry:")

    assert isinstance(third, PaperRecord)
    assert third.id == "https://arxiv.org/abs/2503.11750v1"
    assert third.published == date(2025, 3, 14)
    assert third.categories == ["cs.CV", "cs.CR"]
    assert third.authors[0] == "Shuyang Hao"
    assert Link("abs", "https://arxiv.org/abs/2503.11750") in third.links


def test_doi_url_and_other_fields() -> None:
    text = r"""@article{k1,
      title = {Deep Residual Learning for Image Recognition},
      author = {He, Kaiming and Zhang, Xiangyu and {Microsoft Research} and others},
      journal = {CVPR}, year = {2016}, month = {6}, doi = {10.1109/CVPR.2016.90},
      url = {https://openaccess.thecvf.com/paper.pdf}, note = {Best paper}
    }"""
    (record,) = run(text)
    assert isinstance(record, PaperRecord)
    assert record.authors == ["Kaiming He", "Xiangyu Zhang", "Microsoft Research"]
    assert record.published == date(2016, 6, 1)
    assert (record.doi, record.journal_ref, record.comment) == (
        "10.1109/CVPR.2016.90",
        "CVPR",
        "Best paper",
    )
    assert record.links == [
        Link("abs", "https://openaccess.thecvf.com/paper.pdf"),
        Link("doi", "https://doi.org/10.1109/CVPR.2016.90"),
    ]
    assert record.abstract == ""


def test_bad_entries_are_record_errors_and_the_rest_parse() -> None:
    text = """@misc{ok1, title = {First}}
@misc{notitle, author = {A, B}}
@misc{badmonth, title = {T}, year = {2020}, month = {13}}
@string{foo = "bar"}
@misc{ok1, title = {Duplicate key}}
@misc{ok2, title = {Last}}
"""
    items = run(text)
    assert [type(i).__name__ for i in items] == [
        "PaperRecord",
        "RecordError",
        "RecordError",
        "RecordError",
        "PaperRecord",
    ]
    assert items[1] == RecordError("refs.bib entry 2 (notitle) line 2", "missing title")
    assert items[2] == RecordError(
        "refs.bib entry 3 (badmonth) line 3", "month is not a month: '13'"
    )
    assert items[3].location == "refs.bib entry 4 (ok1) line 5"
    assert "Duplicate" in items[3].reason


@pytest.mark.parametrize("text", ["title,abstract\nA,B\n", "no entries here", "@comment{x}"])
def test_a_file_without_entries_is_an_ingest_error(text: str) -> None:
    with pytest.raises(IngestError, match=r"^refs\.bib: no BibTeX entries"):
        run(text)


def test_not_utf8_is_an_ingest_error() -> None:
    with pytest.raises(IngestError, match=r"^refs\.bib: not UTF-8"):
        run(b"@misc{k, title = {M\xfcller}}")


@pytest.mark.parametrize(
    ("latex", "text"),
    [
        (r"M{\"u}ller", "Müller"),
        (r"{\'E}cole Polytechnique", "École Polytechnique"),
        (r"Ga\"{\i}l", "Gaïl"),
        (r"\v{S}ediv\'y", "Šedivý"),
        (r"Fran\c{c}ois", "François"),
        (r"Stra{\ss}e", "Straße"),
        (r"\L{}ukasz", "Łukasz"),
        (r"R \& D {GPT}-4 \{x\}", "R & D GPT-4 {x}"),
        (r"$\alpha$-divergence", r"$\alpha$-divergence"),
    ],
)
def test_delatex(latex: str, text: str) -> None:
    assert delatex(latex) == text


def test_author_field_forms() -> None:
    assert authors("Vaswani, Ashish and Noam Shazeer and {Barnes and Noble}") == [
        "Ashish Vaswani",
        "Noam Shazeer",
        "Barnes and Noble",
    ]
    assert authors("King, Jr, Martin Luther") == ["Martin Luther King Jr"]
    assert authors("") == []
