"""``/library.bib``: a user's saved papers (or one tag) as BibTeX that a parser reads back."""

from __future__ import annotations

from pathlib import Path

import bibtexparser
from sqlalchemy import Engine

from paperfeed.community.sessions import start_session
from paperfeed.web.auth_deps import SESSION_COOKIE
from paperfeed.web.citation import unique_keys
from tests.factories import add_user, anonymous, signed_in
from tests.rank.for_you_data import load_sample, papers_about, tag_papers


def test_a_tag_exports_as_bibtex(engine: Engine, tmp_path: Path) -> None:
    load_sample(engine, tmp_path, 400)
    user_pk = add_user(engine)
    speech = papers_about(engine, "speech", 3)
    tag_papers(engine, user_pk, "speech", speech)
    tag_papers(engine, user_pk, "other", papers_about(engine, "reinforcement", 2))
    with anonymous() as client:
        assert client.get("/library.bib", follow_redirects=False).status_code == 303
        client.cookies.set(SESSION_COOKIE, start_session(engine, user_pk))
        response = client.get("/library.bib?tag=speech")
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("application/x-bibtex")
        assert 'filename="speech.bib"' in response.headers["content-disposition"]
        parsed = bibtexparser.parse_string(response.text)
        assert len(parsed.entries) == 3 and not parsed.failed_blocks
        assert all("speech" in entry["title"].lower() for entry in parsed.entries)
        everything = bibtexparser.parse_string(client.get("/library.bib").text)
        assert len(everything.entries) == 5


def test_duplicate_keys_are_made_unique() -> None:
    keys = unique_keys(["smith2024deep"] * 3 + ["other"])
    assert keys == ["smith2024deep", "smith2024deepb", "smith2024deepc", "other"]


def test_the_library_page_links_the_export_of_its_tag(engine: Engine, tmp_path: Path) -> None:
    load_sample(engine, tmp_path, 200)
    user_pk = add_user(engine)
    tag_papers(engine, user_pk, "speech", papers_about(engine, "speech", 1))
    with signed_in(engine, user_pk) as client:
        page = client.get("/library?tag=speech").text
        assert 'href="/library.bib?tag=speech"' in page and 'href="/for-you?tag=speech"' in page
        assert 'href="/library.bib"' in client.get("/library").text
