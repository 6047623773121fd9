"""Reference managers and link previews: the paper page's ``<head>`` read as Zotero's Embedded
Metadata and arXiv translators read it, BibTeX and RIS read back by bibtexparser and rispy."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import date
from typing import Any

import bibtexparser
import pytest
import rispy
from bibtexparser.middlewares import LatexDecodingMiddleware, SeparateCoAuthors
from bs4 import BeautifulSoup
from fastapi.testclient import TestClient
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import Engine

from paperfeed.community.comments import add_comment
from paperfeed.domain import Link, Paper, PaperRecord
from paperfeed.web.app import create_app
from paperfeed.web.citation import DESCRIPTION_CHARS, bibtex, description, json_ld, ris
from tests.factories import add_papers, add_user, load_user, signed_in
from tests.rank.for_you_data import tag_papers

ARXIV = PaperRecord(
    id="2401.12345",
    title="A $q$-analogue of {Brace} & 50% Tricks_with Ünïcode",
    abstract="We study q-analogues. " * 40,
    authors=["Ada Lovelace", "José Ortega y Gasset", "Wei Zhang"],
    categories=["math.CO", "cs.LG"],
    published=date(2024, 1, 22),
    updated=date(2024, 3, 1),
    doi="10.1000/xyz#1",
    featured_day=date(2024, 1, 23),
)
OTHER = PaperRecord(  # no arXiv id: ingest gives it one from its title
    title="A paper from elsewhere",
    abstract="Short abstract.",
    authors=["Grace Hopper"],
    journal_ref="Journal of Things 3 (2020)",
    published=date(2020, 5, 6),
    links=[Link("abs", "https://example.org/p/1"), Link("pdf", "https://example.org/p/1.pdf")],
)


@pytest.fixture
def client(engine: Engine) -> Iterator[TestClient]:
    add_papers(engine, ARXIV, OTHER)
    with TestClient(create_app()) as client:
        yield client


def other_id(engine: Engine) -> str:
    pks = add_papers(engine)
    (found,) = [key for key in pks if key != ARXIV.id]
    return found


def embedded_metadata(html: str) -> dict[str, list[str]]:
    """Every ``citation_*`` meta tag, name lower-cased, values in page order: what Zotero's
    Embedded Metadata translator collects (``meta[name^=citation_]``, any case) before it maps
    citation_title, citation_author..., citation_publication_date, citation_pdf_url."""
    found: dict[str, list[str]] = {}
    for meta in BeautifulSoup(html, "html.parser").find_all("meta"):
        name = str(meta.get("name") or "").lower()
        if name.startswith("citation_"):
            found.setdefault(name, []).append(str(meta.get("content")))
    return found


def test_the_page_carries_highwire_tags_as_zotero_reads_them(client: TestClient) -> None:
    tags = embedded_metadata(client.get("/papers/2401.12345").text)
    assert tags["citation_title"] == [ARXIV.title]
    assert tags["citation_author"] == ARXIV.authors  # one tag each, in order
    assert tags["citation_publication_date"] == ["2024/01/22"]
    # The arXiv translator takes the id from citation_arxiv_id and fetches the rest by it.
    assert tags["citation_arxiv_id"] == ["2401.12345"]
    assert tags["citation_pdf_url"] == ["https://arxiv.org/pdf/2401.12345"]
    assert tags["citation_doi"] == ["10.1000/xyz#1"]
    assert tags["citation_abstract_html_url"] == ["https://arxiv.org/abs/2401.12345"]


def test_a_paper_from_elsewhere_names_its_own_pdf_and_journal(
    client: TestClient, engine: Engine
) -> None:
    tags = embedded_metadata(client.get(f"/papers/{other_id(engine)}").text)
    assert "citation_arxiv_id" not in tags
    assert tags["citation_pdf_url"] == ["https://example.org/p/1.pdf"]
    assert tags["citation_journal_title"] == ["Journal of Things 3 (2020)"]


def _meta(soup: BeautifulSoup, **attrs: str) -> str:
    tag = soup.find("meta", attrs=attrs)
    assert tag is not None, attrs
    return str(tag.get("content"))


def test_link_previews_and_json_ld(client: TestClient) -> None:
    base = client.app.state.settings.base_url.rstrip("/")  # type: ignore[attr-defined]
    response = client.get("/papers/2401.12345")
    # JSON-LD is data: the CSP still runs scripts from this site only.
    policy = response.headers["content-security-policy"]
    assert "script-src 'self';" in policy and "unsafe" not in policy
    soup = BeautifulSoup(response.text, "html.parser")
    start = " ".join(ARXIV.abstract.split())
    summary = _meta(soup, name="description")
    assert summary.endswith("…") and start.startswith(summary[:-1])
    assert len(summary) <= DESCRIPTION_CHARS
    assert _meta(soup, property="og:title") == ARXIV.title
    assert _meta(soup, property="og:description") == summary
    assert _meta(soup, property="og:url") == f"{base}/papers/2401.12345"
    assert _meta(soup, name="twitter:card") == "summary"
    blocks = soup.find_all("script", attrs={"type": "application/ld+json"})
    assert len(blocks) == 1
    data: dict[str, Any] = json.loads(blocks[0].string or "")
    assert data["@type"] == "ScholarlyArticle" and data["name"] == ARXIV.title
    assert [a["name"] for a in data["author"]] == ARXIV.authors
    assert data["datePublished"] == "2024-01-22" and data["identifier"]["value"] == "2401.12345"


def test_a_hostile_title_cannot_leave_the_json_ld_block(engine: Engine) -> None:
    title = "</script><script>alert(1)</script> & <!--"
    add_papers(engine, PaperRecord(id="2402.00001", title=title, abstract="x", authors=["A"]))
    with TestClient(create_app()) as client:
        html = client.get("/papers/2402.00001").text
    soup = BeautifulSoup(html, "html.parser")
    (block,) = soup.find_all("script", attrs={"type": "application/ld+json"})
    assert json.loads(block.string or "")["name"] == title
    others = [s for s in soup.find_all("script") if s.get("type") != "application/ld+json"]
    assert all(str(s.get("src", "")).startswith("/static/") for s in others)


def test_a_short_abstract_is_the_whole_description() -> None:
    paper = _paper(OTHER)
    assert description(paper) == "Short abstract."


def _paper(record: PaperRecord) -> Paper:
    return Paper(
        id=record.id or "elsewhere-1",
        title=record.title,
        abstract=record.abstract,
        authors=record.authors,
        categories=record.categories,
        published=record.published,
        updated=record.updated,
        versions=[],
        doi=record.doi,
        journal_ref=record.journal_ref,
        comment=None,
        links=record.links,
        featured_day=None,
        submitter=None,
        upvotes=0,
    )


def test_bibtex_reads_back_with_bibtexparser() -> None:
    text = bibtex(_paper(ARXIV))
    library = bibtexparser.parse_string(
        text, append_middleware=[LatexDecodingMiddleware(), SeparateCoAuthors()]
    )
    assert not library.failed_blocks
    (entry,) = library.entries
    assert entry.entry_type == "misc" and entry.key == "lovelace2024qanalogue"
    assert entry["title"].strip("{}") == ARXIV.title
    assert entry["author"] == ARXIV.authors
    assert entry["eprint"] == "2401.12345" and entry["archivePrefix"] == "arXiv"
    assert entry["year"] == "2024" and entry["primaryClass"] == "math.CO"


def test_ris_reads_back_with_rispy() -> None:
    (record, other) = rispy.loads(ris([_paper(ARXIV), _paper(OTHER)]))
    assert record["type_of_reference"] == "EPRINT"
    assert record["title"] == ARXIV.title and record["authors"] == ARXIV.authors
    assert record["year"] == "2024" and record["date"] == "2024/01/22"
    assert record["doi"] == "10.1000/xyz#1" and record["number"] == "arXiv:2401.12345"
    assert record["urls"] == [
        "https://arxiv.org/abs/2401.12345",
        "https://arxiv.org/pdf/2401.12345",
    ]
    assert record["abstract"] == " ".join(ARXIV.abstract.split())
    assert other["type_of_reference"] == "JOUR"
    assert other["journal_name"] == "Journal of Things 3 (2020)"


def test_paper_exports_are_served(client: TestClient) -> None:
    response = client.get("/papers/2401.12345.ris")
    assert response.headers["content-type"].startswith("application/x-research-info-systems")
    assert [r["title"] for r in rispy.loads(response.text)] == [ARXIV.title]
    response = client.get("/papers/2401.12345.bib")
    assert response.headers["content-type"].startswith("application/x-bibtex")
    assert bibtexparser.parse_string(response.text).entries[0]["eprint"] == "2401.12345"
    page = client.get("/papers/2401.12345").text
    assert 'href="/papers/2401.12345.ris"' in page and 'href="/papers/2401.12345.bib"' in page
    missing = client.get("/papers/9999.99999.ris")
    assert missing.status_code == 404 and "9999.99999" in missing.text


def test_a_library_tag_exports_as_ris(engine: Engine) -> None:
    pks = add_papers(engine, ARXIV, OTHER)
    user_pk = add_user(engine)
    tag_papers(engine, user_pk, "reading", [pks["2401.12345"]])
    tag_papers(engine, user_pk, "other", [pks[other_id(engine)]])
    with signed_in(engine, user_pk) as client:
        response = client.get("/library.ris?tag=reading")
        assert 'filename="reading.ris"' in response.headers["content-disposition"]
        assert [r["title"] for r in rispy.loads(response.text)] == [ARXIV.title]
        assert len(rispy.loads(client.get("/library.ris").text)) == 2
        assert 'href="/library.ris?tag=reading"' in client.get("/library?tag=reading").text


def test_markdown_holds_the_paper_and_its_discussion(engine: Engine) -> None:
    pks = add_papers(engine, ARXIV)
    author = load_user(engine, add_user(engine, "grace"))
    add_comment(engine, author, pks["2401.12345"], "Does this hold for $q=1$?")
    with TestClient(create_app()) as client:
        text = client.get("/papers/2401.12345.md").text
    assert text.startswith(f"# {ARXIV.title}\n")
    assert "**Authors:** Ada Lovelace, José Ortega y Gasset, Wei Zhang" in text
    assert "**Published:** 2024-01-22" in text and "**Updated:** 2024-03-01" in text
    assert "[PDF](<https://arxiv.org/pdf/2401.12345>)" in text
    assert "## Discussion (1 comment)" in text and "### grace · " in text
    assert "Does this hold for $q=1$?" in text


_TEXT = st.text(st.characters(blacklist_categories=("Cs", "Cc")), min_size=1, max_size=60).filter(
    lambda t: t.strip()
)


@given(title=_TEXT, abstract=_TEXT)
def test_json_ld_holds_any_text_and_never_closes_its_element(title: str, abstract: str) -> None:
    paper = _paper(PaperRecord(id="2401.12345", title=title, abstract=abstract))
    text = json_ld(paper, "https://example.org/papers/2401.12345")
    assert "<" not in text and ">" not in text
    data = json.loads(text)
    assert data["name"] == " ".join(title.split())
    assert data["abstract"] == " ".join(abstract.split())


@given(title=_TEXT, authors=st.lists(_TEXT, min_size=1, max_size=3))
def test_ris_reads_back_any_title_and_authors(title: str, authors: list[str]) -> None:
    authors = [" ".join(a.split()) for a in authors]
    paper = _paper(PaperRecord(id="2401.12345", title=title, abstract="x", authors=authors))
    (record,) = rispy.loads(ris([paper]))
    assert record["title"] == " ".join(title.split())
    assert record["authors"] == authors


@given(title=st.text(st.characters(min_codepoint=32, max_codepoint=126), min_size=1, max_size=60))
def test_bibtex_reads_back_any_printable_title(title: str) -> None:
    paper = _paper(PaperRecord(id="2401.12345", title=title, abstract="x", authors=["A B"]))
    library = bibtexparser.parse_string(
        bibtex(paper), append_middleware=[LatexDecodingMiddleware()]
    )
    assert not library.failed_blocks
    (entry,) = library.entries
    # pylatexenc reads \textasciicircum and \textasciitilde as the spacing accents.
    decoded = entry["title"].replace("ˆ", "^").replace("˜", "~")
    assert decoded == " ".join(title.split())
