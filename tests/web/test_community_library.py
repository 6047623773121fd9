"""The library: save and unsave papers, tags, and the /library page."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine

from paperfeed.community.library import TagError, clean_tags, library, set_saved, set_tags
from paperfeed.community.paper_context import community_context
from tests.factories import add_paper, add_user, anonymous, form_token, signed_in


def test_save_unsave_toggle_and_tags(engine: Engine) -> None:
    alice, bob = add_user(engine), add_user(engine)
    first, second = add_paper(engine, "2401.00001"), add_paper(engine, "2401.00002")
    assert set_saved(engine, alice, first) is True
    assert set_saved(engine, alice, first, True) is True  # saving twice keeps one entry
    assert set_saved(engine, alice, second) is True
    assert [entry.paper.id for entry in library(engine, alice)] == ["2401.00002", "2401.00001"]
    assert library(engine, bob) == []
    assert community_context(engine, first, None)["saved"] is False
    set_tags(engine, alice, first, clean_tags(["Survey", "reading ", "survey"]))
    assert [e.tags for e in library(engine, alice) if e.paper.id == "2401.00001"] == [
        ["reading", "survey"]
    ]
    assert [e.paper.id for e in library(engine, alice, "survey")] == ["2401.00001"]
    assert set_saved(engine, alice, first) is False  # toggle off drops its tags too
    assert library(engine, alice, "survey") == []
    assert set_saved(engine, alice, first, False) is False
    with pytest.raises(TagError):
        clean_tags(f"t{n}" for n in range(20))


def test_library_page_and_save_route(engine: Engine) -> None:
    add_paper(engine, "2401.12345", title="A <i>Saved</i> Paper")
    with signed_in(engine, add_user(engine)) as client:
        empty = client.get("/library")
        assert empty.status_code == 200 and "Nothing saved yet" in empty.text
        token = form_token(client)
        assert client.post("/papers/2401.12345/save", data={}).status_code == 403
        saved = client.post(
            "/papers/2401.12345/save",
            data={"csrf_token": token, "saved": "1", "next": "/library"},
            follow_redirects=False,
        )
        assert saved.status_code == 303 and saved.headers["location"] == "/library"
        page = client.get("/library").text
        assert "A &lt;i&gt;Saved&lt;/i&gt; Paper" in page
        tagged = client.post(
            "/papers/2401.12345/tags",
            data={"csrf_token": token, "tags": "to-read"},
            follow_redirects=False,
        )
        assert tagged.status_code == 303
        assert "to-read" in client.get("/library?tag=to-read").text
        client.post("/papers/2401.12345/save", data={"csrf_token": token, "saved": "0"})
        assert "Nothing saved yet" in client.get("/library").text
    with anonymous() as anon:
        response = anon.get("/library", follow_redirects=False)
        assert response.status_code == 303 and response.headers["location"].startswith("/login")


def test_commas_separate_tags_and_spaces_inside_a_tag_become_hyphens(engine: Engine) -> None:
    add_paper(engine, "2401.12345")
    reader = add_user(engine)
    with signed_in(engine, reader) as client:
        token = form_token(client)
        tagged = client.post(
            "/papers/2401.12345/tags",
            data={"csrf_token": token, "tags": "meshes, Flow  Matching,flow-matching, ,"},
            follow_redirects=False,
        )
        assert tagged.status_code == 303
        (entry,) = library(engine, reader)
        assert entry.tags == ["flow-matching", "meshes"]
        page = client.get("/library?tag=flow matching").text
        assert 'value="flow-matching, meshes"' in page  # found by the spelling typed
        assert 'placeholder="reading, flow matching"' in page
        assert "Separate tags with commas" in page
        # A tag stored before (one word) is still found and kept as it is.
        client.post("/papers/2401.12345/tags", data={"csrf_token": token, "tags": "to-read"})
        assert library(engine, reader, "to-read")[0].tags == ["to-read"]
