"""Whole-site checks by crawling every page a visitor or an admin can reach from ``/``.

RELIABILITY.md 12 (cross-site POSTs to every form's action get 403, and GETs change nothing),
13 (hostile titles, authors, abstracts, links and comments never become markup, handlers or
script links) and 14 (security headers on every response). The crawl follows same-site links,
so pages added later are covered without touching this file.
"""

from __future__ import annotations

import hashlib
import json
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from urllib.parse import urljoin, urlsplit

import pytest
from bs4 import BeautifulSoup
from fastapi.testclient import TestClient
from sqlalchemy import Engine, insert, text

from paperfeed.domain import Link, PaperRecord
from paperfeed.store.community_schema import comments
from paperfeed.store.engine import write_transaction
from paperfeed.store.schema import metadata
from tests.factories import add_papers, add_user, anonymous, signed_in
from tests.web.test_home import assert_security_headers

MAX_PAGES = 150
HOSTILE_TITLE = '<script>alert(1)</script> Attention "><img src=x onerror=alert(2)>'
HOSTILE_ABSTRACT = 'Text <a href="javascript:alert(3)">x</a> <svg onload=alert(4)> more.'
HOSTILE_COMMENT = (
    "<script>alert(5)</script> [click](javascript:alert(6)) "
    '<img src=x onerror="alert(7)"> "><iframe src=//evil.test></iframe>'
)
# Links a page may carry: same-site paths, fragments, and http(s) / mailto URLs.
SAFE_HREF = ("/", "#", "?", "http://", "https://", "mailto:")
EMPTY_FAVICON = "data:,"  # base.html's own <link rel="icon">: stops a /favicon.ico request


@dataclass
class Crawl:
    pages: dict[str, str] = field(default_factory=dict)  # path -> HTML
    forms: set[tuple[str, str]] = field(default_factory=set)  # (action, page it is on)


def _store_hostile_data(engine: Engine) -> int:
    """Papers, a comment and an admin (its pk returned) of hostile text."""
    record = PaperRecord(
        id="2401.00001",
        title=HOSTILE_TITLE,
        abstract=HOSTILE_ABSTRACT,
        authors=['"><svg onload=alert(8)>', "Ada <b>Lovelace</b>"],
        categories=["cs.CL"],
        featured_day=date.today(),
        links=[Link("code", "javascript:alert(9)"), Link("project", "https://example.org/p")],
    )
    paper_pk = add_papers(engine, record)["2401.00001"]
    user_pk = add_user(engine, "admin", admin=True)
    comment = {"paper_pk": paper_pk, "user_pk": user_pk, "body": HOSTILE_COMMENT}
    with write_transaction(engine) as conn:
        conn.execute(insert(comments).values(**comment, created_at=datetime.now(UTC)))
    return user_pk


def _same_site_path(base: str, href: str) -> str | None:
    url = urlsplit(urljoin(base, href))
    if url.netloc not in ("", "testserver") or url.path.startswith("/static/"):
        return None
    return url.path + (f"?{url.query}" if url.query else "")


def crawl(client: TestClient) -> Crawl:
    found = Crawl()
    queue = deque(["/"])
    visited: set[str] = set()
    while queue and len(visited) < MAX_PAGES:
        path = queue.popleft()
        if path in visited:
            continue
        visited.add(path)
        response = client.get(path, follow_redirects=False)
        assert response.status_code < 500, f"{path} answered {response.status_code}"
        assert_security_headers(response)
        if "html" not in response.headers["content-type"]:
            continue  # Markdown, feeds, JSON: not rendered as markup by a browser
        found.pages[path] = response.text
        soup = BeautifulSoup(response.text, "html.parser")
        for anchor in soup.find_all("a", href=True):
            target = _same_site_path(path, str(anchor["href"]))
            if target and target not in visited and target != "/logout":
                queue.append(target)
        for form in soup.find_all("form"):
            if str(form.get("method", "get")).lower() == "post":
                found.forms.add((str(form.get("action") or path), path))
    return found


def assert_no_injected_markup(path: str, html: str) -> None:
    soup = BeautifulSoup(html, "html.parser")
    for script in soup.find_all("script"):
        if script.get("type") == "application/ld+json":  # data, never run (JSON-LD)
            json.loads(script.string or "")
            continue
        assert str(script.get("src", "")).startswith("/static/"), f"{path}: {script}"
        assert not script.string, f"{path}: inline script {script}"
    for tag in soup.find_all(True):
        handlers = [name for name in tag.attrs if name.lower().startswith("on")]
        assert not handlers, f"{path}: {tag.name} has {handlers}"
        assert tag.name not in ("iframe", "svg", "object", "embed"), f"{path}: {tag}"
        for attribute in ("href", "src", "action", "formaction"):
            value = str(tag.get(attribute, "")).strip()
            if value and value != EMPTY_FAVICON:
                assert value.startswith(SAFE_HREF), f"{path}: {tag.name} {attribute}={value!r}"
    assert "alert(" not in " ".join(str(tag) for tag in soup.find_all("img")), path


def database_fingerprint(engine: Engine) -> str:
    """A hash of every row of every table: equal before and after means nothing changed."""
    digest = hashlib.sha256()
    with engine.connect() as conn:
        for table in metadata.sorted_tables:
            rows = conn.execute(text(f'SELECT * FROM "{table.name}" ORDER BY 1')).all()
            digest.update(f"{table.name}:{sorted(map(repr, rows))}".encode())
    return digest.hexdigest()


@pytest.fixture
def clients(engine: Engine) -> Iterator[dict[str, TestClient]]:
    admin_pk = _store_hostile_data(engine)
    with anonymous() as visitor, signed_in(engine, admin_pk) as admin:
        yield {"visitor": visitor, "admin": admin}


@pytest.mark.parametrize("who", ["visitor", "admin"])
def test_every_page_is_safe_and_get_changes_nothing(
    engine: Engine, clients: dict[str, TestClient], who: str
) -> None:
    before = database_fingerprint(engine)
    site = crawl(clients[who])
    assert database_fingerprint(engine) == before, "a GET changed the database"
    assert "/papers/2401.00001" in site.pages and "/trending" in site.pages
    assert len(site.pages) >= 10, sorted(site.pages)
    for path, html in site.pages.items():
        assert_no_injected_markup(path, html)


def test_every_form_refuses_cross_site_posts(
    engine: Engine, clients: dict[str, TestClient]
) -> None:
    admin = clients["admin"]
    site = crawl(admin)
    assert site.forms, "the site has forms (subscribe, log out...)"
    before = database_fingerprint(engine)
    for action, page in sorted(site.forms):
        for headers in ({"origin": "http://evil.test"}, {"sec-fetch-site": "cross-site"}):
            response = admin.post(urljoin(page, action), data={"x": "1"}, headers=headers)
            assert response.status_code == 403, f"{action} (form on {page}) with {headers}"
    assert database_fingerprint(engine) == before
