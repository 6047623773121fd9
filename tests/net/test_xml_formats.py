"""The arxiv-atom and oai parsers on recorded responses, errors and hostile XML."""

from __future__ import annotations

import io
from datetime import date

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from paperfeed.domain import PaperRecord, RecordError
from paperfeed.ingest.formats import IngestError, ParseOptions, get_parser
from paperfeed.ingest.formats.oai import resumption
from tests.net.conftest import RECORDED


def parse(fmt: str, data: bytes, name: str = "feed") -> list[PaperRecord | RecordError]:
    return list(get_parser(fmt)(io.BytesIO(data), name, ParseOptions()))


def records(fmt: str, file: str) -> list[PaperRecord]:
    items = parse(fmt, (RECORDED / file).read_bytes(), file)
    assert all(isinstance(item, PaperRecord) for item in items)
    return items  # type: ignore[return-value]


def test_atom_entry_fields() -> None:
    first = records("arxiv-atom", "arxiv_api_start0.xml")[0]
    assert first.id == "2503.12141v2"
    assert first.title.startswith("Enhanced Sentiment Analysis of Iranian Restaurant Reviews")
    assert first.abstract.startswith("This research presents an advanced sentiment analysis")
    assert first.authors == ["Shayan Rokhva", "Babak Teimourpour", "Romina Babaei"]
    assert first.categories == ["cs.CL", "cs.CV"]  # primary first
    assert (first.published, first.updated) == (date(2025, 3, 18), date(2025, 3, 30))
    assert first.doi == "10.18653/v1/2025.acl-long.141"
    assert first.journal_ref == "Proceedings of ACL 2025"
    assert first.comment == "12 pages, 4 figures"
    kinds = {link.kind: link.url for link in first.links}
    assert kinds == {
        "abs": "https://arxiv.org/abs/2503.12141v2",
        "pdf": "https://arxiv.org/pdf/2503.12141v2",
        "doi": "https://doi.org/10.18653/v1/2025.acl-long.141",
    }


def test_atom_primary_category_comes_first_even_if_listed_later() -> None:
    feed = (RECORDED / "arxiv_api_ids.xml").read_text()
    feed = feed.replace('term="cs.CL" scheme', 'term="cs.LG" scheme', 1)
    first = parse("arxiv-atom", feed.encode())[0]
    assert isinstance(first, PaperRecord) and first.categories[0] == "cs.LG"


def test_atom_api_error_is_an_ingest_error_with_arxivs_message() -> None:
    with pytest.raises(IngestError, match=r"arXiv API error: incorrect id format for 1234.5678x"):
        records("arxiv-atom", "arxiv_api_error.xml")


def test_atom_empty_feed_has_no_records() -> None:
    assert records("arxiv-atom", "arxiv_api_empty.xml") == []


def test_oai_arxiv_format_and_deleted_records() -> None:
    pages = [records("oai", f"oai_arXiv_page{n}.xml") for n in (1, 2, 3)]
    assert [len(p) for p in pages] == [4, 3, 2]  # one deleted record on page 2
    first = pages[0][0]
    assert first.id and first.title and len(first.abstract) > 200
    assert first.published == date(2025, 3, 20) and first.updated == date(2025, 3, 25)
    assert first.comment == "Accepted at ACL 2025"
    assert all(" " in name for name in first.authors)  # "Forenames Keyname"


def arxiv_codes(categories: list[str]) -> list[str]:
    """oai_dc keeps arXiv categories only (the corpus also lists ACM classes like I.2.7)."""
    return [c for c in categories if c[:1].islower()]


def test_oai_dc_matches_the_arxiv_format() -> None:
    for n in (1, 2, 3):
        native = records("oai", f"oai_arXiv_page{n}.xml")
        dc = records("oai", f"oai_oai_dc_page{n}.xml")
        assert [(r.id, r.title, r.authors, r.categories) for r in dc] == [
            (r.id, r.title, r.authors, arxiv_codes(r.categories)) for r in native
        ]
        assert [r.abstract.strip() for r in dc] == [r.abstract.strip() for r in native]


def test_oai_resumption_tokens() -> None:
    def token(name: str) -> tuple[str | None, int | None]:
        found = resumption(io.BytesIO((RECORDED / name).read_bytes()), name)
        return found.token, found.complete_size

    assert token("oai_arXiv_page1.xml") == ("7133620|1001", 10)
    assert token("oai_arXiv_page2.xml") == ("7133620|2001", 10)
    assert token("oai_arXiv_page3.xml") == (None, 10)


def test_oai_errors() -> None:
    assert records("oai", "oai_no_records.xml") == []
    with pytest.raises(IngestError, match=r"badResumptionToken: Invalid or expired"):
        records("oai", "oai_bad_token.xml")


BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;">]>
<feed xmlns="http://www.w3.org/2005/Atom"><entry><title>&lol2;</title></entry></feed>"""
EXTERNAL = b"""<?xml version="1.0"?>
<!DOCTYPE feed [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<feed xmlns="http://www.w3.org/2005/Atom"><entry><title>&xxe;</title></entry></feed>"""


@pytest.mark.parametrize("fmt", ["arxiv-atom", "oai"])
@pytest.mark.parametrize("body", [BILLION_LAUGHS, EXTERNAL])
def test_entities_and_dtds_are_refused(fmt: str, body: bytes) -> None:
    with pytest.raises(IngestError, match=r"feed: refused"):
        parse(fmt, body)


@pytest.mark.parametrize("fmt", ["arxiv-atom", "oai"])
def test_malformed_xml_names_the_source(fmt: str) -> None:
    with pytest.raises(IngestError, match=r"^feed: malformed"):
        parse(fmt, b"<feed><entry>")


@pytest.mark.parametrize("fmt", ["arxiv-atom", "oai"])
@settings(max_examples=60, deadline=None)
@given(data=st.binary(max_size=300))
def test_arbitrary_bytes_end_in_a_clear_error(fmt: str, data: bytes) -> None:
    try:
        parse(fmt, data)
    except IngestError as error:
        assert str(error).startswith("feed:")
