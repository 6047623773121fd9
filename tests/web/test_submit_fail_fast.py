"""Submissions fail fast and clearly, and a paper already here is neither fetched nor credited.

arXiv is unreachable in two ways: a name that does not resolve (``.invalid``; the lookup is
answered by this test, so nothing leaves the machine) and a loopback port nobody listens on.
Either is one attempt and one short message without any internal URL, on the page and in the
API. Resubmitting a stored paper answers 200 (not 201) and credits nobody.
"""

from __future__ import annotations

import functools
import re
import socket
from collections import Counter
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, select

from paperfeed.community import submit
from paperfeed.community.sessions import create_api_token
from paperfeed.community.submit import ArxivUnavailable, submit_arxiv
from paperfeed.config import Settings, get_settings
from paperfeed.ingest.net.arxiv_client import ArxivClient
from paperfeed.ingest.net.http import Response, fetch
from paperfeed.store.community_schema import submissions
from paperfeed.web.app import create_app
from tests.factories import BASE, add_paper, add_user, form_token, load_user, signed_in
from tests.live_server import free_port
from tests.net.conftest import Reply, Server, net_env, recorded, server

__all__ = ["net_env", "server"]  # fixtures of the loopback server, used by name below

UNRESOLVABLE = "export.arxiv.invalid"


@pytest.fixture(autouse=True)
def no_dns(monkeypatch: pytest.MonkeyPatch) -> None:
    """Names under .invalid fail as DNS would answer them, without asking any DNS server."""
    real = socket.getaddrinfo

    def getaddrinfo(host: Any, *args: Any, **kwargs: Any) -> Any:
        if str(host).endswith(".invalid"):
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return real(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)


@pytest.fixture
def attempts(monkeypatch: pytest.MonkeyPatch) -> Counter[str]:
    """Requests that submissions send to arXiv, by host."""
    seen: Counter[str] = Counter()

    def counted(url: str, settings: Settings) -> Response:
        seen[str(urlsplit(url).hostname)] += 1
        return fetch(url, settings)

    monkeypatch.setattr(submit, "ArxivClient", functools.partial(ArxivClient, get=counted))
    return seen


def _point_arxiv_at(monkeypatch: pytest.MonkeyPatch, api_url: str) -> str:
    """Settings whose arXiv API is ``api_url``, with the default retries; returns the URL."""
    monkeypatch.setenv("PAPERFEED_ARXIV_API_URL", api_url)
    monkeypatch.setenv("PAPERFEED_ARXIV_DELAY", "0")
    monkeypatch.setenv("PAPERFEED_ALLOW_PRIVATE_URLS", "1")
    get_settings.cache_clear()
    assert get_settings().arxiv_max_retries == 5  # retries are on; they must not be used here
    return api_url


@pytest.fixture(params=["dns", "refused"])
def unreachable(
    request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch, attempts: Counter[str]
) -> Iterator[tuple[str, str]]:
    """(host, API URL) of an arXiv that cannot be reached."""
    host = UNRESOLVABLE if request.param == "dns" else "127.0.0.1"
    port = 80 if request.param == "dns" else free_port()  # closed again: nothing listens
    yield host, _point_arxiv_at(monkeypatch, f"http://{host}:{port}/api/query")


def _no_internals(message: str, api_url: str) -> None:
    assert api_url not in message and "/api/query" not in message and "http" not in message
    assert UNRESOLVABLE not in message and "Traceback" not in message


def test_unreachable_arxiv_is_one_attempt_and_one_short_message(
    engine: Engine, unreachable: tuple[str, str], attempts: Counter[str]
) -> None:
    host, api_url = unreachable
    user = load_user(engine, add_user(engine, "ivy"))
    with pytest.raises(ArxivUnavailable) as raised:
        submit_arxiv(engine, get_settings(), user, "2503.14755")
    assert attempts[host] == 1  # not retried: the answer was clear the first time
    message = str(raised.value)
    assert message.startswith("Could not get 2503.14755 from arXiv: arXiv cannot be reached")
    _no_internals(message, api_url)


def test_the_page_and_the_api_say_so_without_internal_urls(
    engine: Engine, unreachable: tuple[str, str], attempts: Counter[str]
) -> None:
    host, api_url = unreachable
    with signed_in(engine, add_user(engine, "jay")) as client:
        token = form_token(client, "/submit")
        page = client.post("/submit", data={"csrf_token": token, "arxiv_id": "2503.14755"})
        assert page.status_code == 502 and "arXiv cannot be reached" in page.text
        shown = re.search(r'<p class="cm-error" role="alert">(.*?)</p>', page.text, re.S)
        assert shown is not None
        _no_internals(shown[1], api_url)
        api = client.post(
            "/api/submit", json={"arxiv_id": "2503.14797"}, headers={"X-CSRF-Token": token}
        )
        assert api.status_code == 502 and "arXiv cannot be reached" in api.json()["detail"]
        _no_internals(api.json()["detail"], api_url)
    assert attempts[host] == 2  # one attempt each
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(submissions)).scalar_one() == 0


def test_a_busy_arxiv_is_retried_then_answered_briefly(
    engine: Engine, net_env: Server, monkeypatch: pytest.MonkeyPatch
) -> None:
    net_env.route("/api/query", lambda query: Reply(503, b"busy", {"Retry-After": "1"}))
    monkeypatch.setenv("PAPERFEED_ARXIV_MAX_RETRIES", "2")
    get_settings.cache_clear()
    user = load_user(engine, add_user(engine, "kim"))
    with pytest.raises(ArxivUnavailable, match="Try again") as raised:
        submit_arxiv(engine, get_settings(), user, "2503.14755")
    assert len(net_env.seen) == 3  # 503 from a reachable arXiv is still worth retrying
    _no_internals(str(raised.value), net_env.url)


def test_resubmitting_a_stored_paper_answers_200_and_credits_nobody(
    engine: Engine, net_env: Server
) -> None:
    net_env.route("/api/query", lambda query: recorded("arxiv_api_ids.xml"))
    first, second = add_user(engine, "lee"), add_user(engine, "max")
    with signed_in(engine, first) as client:
        token = form_token(client, "/submit")
        created = client.post(
            "/api/submit", json={"arxiv_id": "2503.14755"}, headers={"X-CSRF-Token": token}
        )
        assert created.status_code == 201 and created.json()["created"] is True
    with signed_in(engine, second) as client:
        token = form_token(client, "/submit")
        again = client.post(
            "/api/submit", json={"arxiv_id": "2503.14755v1"}, headers={"X-CSRF-Token": token}
        )
        assert again.status_code == 200
        assert again.json() == {
            "paper_id": "2503.14755", "created": False, "url": "/papers/2503.14755"
        }  # fmt: skip
        page = client.post("/submit", data={"csrf_token": token, "arxiv_id": "arXiv:2503.14755v2"})
        assert page.status_code == 200 and "already here" in page.text
        assert 'href="/papers/2503.14755"' in page.text
    assert len(net_env.seen) == 1  # fetched once, when it was new
    with engine.connect() as conn:
        credited = conn.execute(select(submissions.c.user_pk)).scalars().all()
    assert credited == [first]


def test_a_stored_paper_named_with_any_version_is_not_fetched(
    engine: Engine, net_env: Server
) -> None:
    stored = add_paper(engine, "2503.14797")
    user = load_user(engine, add_user(engine, "ned"))
    for spelling in ("2503.14797v1", "2503.14797v12", "https://arxiv.org/pdf/2503.14797v3"):
        done = submit_arxiv(engine, get_settings(), user, spelling)
        assert (done.paper_pk, done.created) == (stored, False)
    assert net_env.seen == []


def test_token_holders_get_the_same_200(engine: Engine) -> None:
    add_paper(engine, "2401.12345")
    auth = {"Authorization": f"Bearer {create_api_token(engine, add_user(engine), 'script')}"}
    with TestClient(create_app(), base_url=BASE) as api:
        again = api.post("/api/submit", json={"arxiv_id": "2401.12345"}, headers=auth)
    assert again.status_code == 200 and again.json()["created"] is False
