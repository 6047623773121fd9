"""A paper as reference managers read it: BibTeX, RIS, and the ``<head>`` metadata of its page.

BibTeX is written here (arXiv's own style; values escaped for TeX) and checked by the tests
with bibtexparser; RIS is written by rispy (the maintained RIS library). The page metadata
follows what Zotero's "Embedded Metadata" and "arXiv.org" translators read (Highwire
``citation_*`` tags), what link previews read (OpenGraph, Twitter cards) and schema.org's
``ScholarlyArticle`` as JSON-LD.
"""

from __future__ import annotations

import json
import re
import unicodedata
from typing import Any

import rispy

from paperfeed.domain import Paper
from paperfeed.ingest.ids import is_arxiv_id

DESCRIPTION_CHARS = 300  # search engines show about 160; previews up to ~300

# BibTeX: characters that are markup inside a braced value, and their escaped forms.
_BIBTEX_ESCAPES = {
    "\\": r"\textbackslash{}",
    "{": r"\{",
    "}": r"\}",
    "%": r"\%",
    "&": r"\&",
    "#": r"\#",
    "$": r"\$",
    "_": r"\_",
    "~": r"\textasciitilde{}",
    "^": r"\textasciicircum{}",
}
_BIBTEX_RE = re.compile("|".join(re.escape(c) for c in _BIBTEX_ESCAPES))
_TITLE_SKIP = {"a", "an", "the", "on", "of", "in", "for", "to", "and", "with", "towards"}


def bibtex_escape(text: str) -> str:
    """``text`` safe inside a braced BibTeX value: braces and TeX specials escaped."""
    return _BIBTEX_RE.sub(lambda m: _BIBTEX_ESCAPES[m.group(0)], " ".join(text.split()))


def _ascii_word(text: str) -> str:
    folded = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^A-Za-z0-9]", "", folded).lower()


def bibtex_key(paper: Paper) -> str:
    """``lastname2024firstword``, ASCII letters and digits only (never empty)."""
    surname = _ascii_word(paper.authors[0].split()[-1]) if paper.authors else ""
    year = str(paper.published.year) if paper.published else ""
    words = [_ascii_word(w) for w in paper.title.split()]
    word = next((w for w in words if w and w not in _TITLE_SKIP), "")
    key = f"{surname}{year}{word}"
    return key or f"paper{_ascii_word(paper.id) or 'x'}"


def bibtex(paper: Paper) -> str:
    """A BibTeX entry: ``@article`` when the paper has a journal reference, else ``@misc``
    (arXiv's own style: eprint, archivePrefix, primaryClass)."""
    fields: list[tuple[str, str]] = [("title", "{" + bibtex_escape(paper.title) + "}")]
    if paper.authors:
        fields.append(("author", " and ".join(bibtex_escape(a) for a in paper.authors)))
    if paper.journal_ref:
        fields.append(("journal", bibtex_escape(paper.journal_ref)))
    if paper.published:
        fields.append(("year", str(paper.published.year)))
        fields.append(("month", paper.published.strftime("%b").lower()))
    if is_arxiv_id(paper.id):
        fields.append(("eprint", bibtex_escape(paper.id)))
        fields.append(("archivePrefix", "arXiv"))
        if paper.categories:
            fields.append(("primaryClass", bibtex_escape(paper.categories[0])))
        fields.append(("url", f"https://arxiv.org/abs/{bibtex_escape(paper.id)}"))
    if paper.doi:
        fields.append(("doi", bibtex_escape(paper.doi)))
    kind = "article" if paper.journal_ref else "misc"
    body = ",\n".join(f"  {name} = {{{value}}}" for name, value in fields)
    return f"@{kind}{{{bibtex_key(paper)},\n{body}\n}}\n"


def unique_keys(keys: list[str]) -> list[str]:
    """``keys`` made unique (``key``, ``keyb``, ``keyc``...), as BibTeX tools need."""
    seen: dict[str, int] = {}
    out = []
    for key in keys:
        count = seen.get(key, 0)
        seen[key] = count + 1
        suffix = "" if count == 0 else chr(ord("a") + count) if count < 26 else str(count)
        out.append(key + suffix)
    return out


def bibtex_many(papers: list[Paper]) -> str:
    """Several papers as one BibTeX file, keys made unique."""
    keys = [bibtex_key(p) for p in papers]
    entries = [
        bibtex(p).replace("{" + key + ",", "{" + unique + ",", 1)
        for p, key, unique in zip(papers, keys, unique_keys(keys), strict=True)
    ]
    return "\n".join(entries)


def abs_url(paper: Paper) -> str | None:
    """The paper's landing page at its source (arXiv's abstract page, else a stored one)."""
    if is_arxiv_id(paper.id):
        return f"https://arxiv.org/abs/{paper.id}"
    return _stored(paper, "abs")


def pdf_url(paper: Paper) -> str | None:
    if is_arxiv_id(paper.id):
        return f"https://arxiv.org/pdf/{paper.id}"
    return _stored(paper, "pdf")


def _stored(paper: Paper, kind: str) -> str | None:
    url = next((link.url for link in paper.links if link.kind == kind), None)
    return url if url and url.startswith(("https://", "http://")) else None


def ris_record(paper: Paper) -> dict[str, Any]:
    """One RIS reference as rispy writes it: ``JOUR`` with a journal reference, else
    ``EPRINT`` (RIS's type for preprints; Zotero imports it as a preprint)."""
    record: dict[str, Any] = {
        "type_of_reference": "JOUR" if paper.journal_ref else "EPRINT",
        "title": " ".join(paper.title.split()),
        "abstract": " ".join(paper.abstract.split()),
    }
    if paper.authors:
        record["authors"] = list(paper.authors)
    if paper.published:
        record["year"] = str(paper.published.year)
        record["date"] = paper.published.strftime("%Y/%m/%d")
    if paper.journal_ref:
        record["journal_name"] = paper.journal_ref
    if paper.doi:
        record["doi"] = paper.doi
    if is_arxiv_id(paper.id):
        record["publisher"] = "arXiv"
        record["number"] = f"arXiv:{paper.id}"
    urls = [url for url in (abs_url(paper), pdf_url(paper)) if url]
    if urls:
        record["urls"] = urls
    if paper.categories:
        record["keywords"] = list(paper.categories)
    return record


def ris(papers: list[Paper]) -> str:
    """Papers as an RIS file (one record each)."""
    return rispy.dumps([ris_record(p) for p in papers])


def description(paper: Paper) -> str:
    """The abstract's start, cut at a word, for ``<meta name="description">`` and previews."""
    text = " ".join(paper.abstract.split())
    if len(text) <= DESCRIPTION_CHARS:
        return text
    cut = text[: DESCRIPTION_CHARS - 1].rsplit(" ", 1)[0]
    return cut.rstrip(",;:") + "…"


def highwire_tags(paper: Paper) -> list[tuple[str, str]]:
    """Highwire Press ``citation_*`` (name, content) pairs, one per author, in order."""
    tags = [("citation_title", " ".join(paper.title.split()))]
    tags += [("citation_author", author) for author in paper.authors]
    if paper.published:
        tags.append(("citation_publication_date", paper.published.strftime("%Y/%m/%d")))
        tags.append(("citation_date", paper.published.strftime("%Y/%m/%d")))
    if paper.updated:
        tags.append(("citation_online_date", paper.updated.strftime("%Y/%m/%d")))
    if is_arxiv_id(paper.id):
        tags.append(("citation_arxiv_id", paper.id))
    if paper.doi:
        tags.append(("citation_doi", paper.doi))
    if paper.journal_ref:
        tags.append(("citation_journal_title", paper.journal_ref))
    pdf = pdf_url(paper)
    if pdf:
        tags.append(("citation_pdf_url", pdf))
    abs_page = abs_url(paper)
    if abs_page:
        tags.append(("citation_abstract_html_url", abs_page))
    tags.append(("citation_abstract", " ".join(paper.abstract.split())))
    return tags


def json_ld(paper: Paper, page_url: str) -> str:
    """schema.org ``ScholarlyArticle`` as JSON-LD, safe inside a ``<script>`` element."""
    data: dict[str, Any] = {
        "@context": "https://schema.org",
        "@type": "ScholarlyArticle",
        "@id": page_url,
        "url": page_url,
        "headline": " ".join(paper.title.split())[:110],
        "name": " ".join(paper.title.split()),
        "abstract": " ".join(paper.abstract.split()),
        "author": [{"@type": "Person", "name": name} for name in paper.authors],
    }
    if paper.published:
        data["datePublished"] = paper.published.isoformat()
    if paper.updated:
        data["dateModified"] = paper.updated.isoformat()
    if paper.categories:
        data["keywords"] = paper.categories
    same_as = [url for url in (abs_url(paper), paper.doi and f"https://doi.org/{paper.doi}") if url]
    if same_as:
        data["sameAs"] = same_as
    if is_arxiv_id(paper.id):
        data["identifier"] = {"@type": "PropertyValue", "propertyID": "arXiv", "value": paper.id}
    # "<", ">" and "&" as \u escapes: the data can never close the <script> element.
    text = json.dumps(data, ensure_ascii=False)
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def paper_links(paper: Paper) -> list[tuple[str, str]]:
    """(label, url) of the paper's outgoing links: arXiv, PDF, DOI, code, project page."""
    links: list[tuple[str, str]] = []
    abs_page, pdf = abs_url(paper), pdf_url(paper)
    if abs_page:
        links.append(("arXiv" if is_arxiv_id(paper.id) else "Abstract", abs_page))
    if pdf:
        links.append(("PDF", pdf))
    if paper.doi:
        links.append(("DOI", f"https://doi.org/{paper.doi}"))
    stored = {link.kind: link for link in paper.links}
    if "code" in stored:
        stars = stored["code"].stars
        label = "Code" + (f" (★ {stars:,})" if stars is not None else "")
        links.append((label, stored["code"].url))
    if "project" in stored:
        links.append(("Project page", stored["project"].url))
    return [(label, url) for label, url in links if url.startswith(("https://", "http://"))]
