"""The host is checked (RELIABILITY 27): a DNS-rebinding page cannot reach a private instance,
and the cross-site guard trusts the served origin, not whatever ``Host`` says (12)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from starlette.datastructures import Headers

from paperfeed import config
from paperfeed.config import Settings
from paperfeed.web.app import create_app
from paperfeed.web.csrf import FORBIDDEN, UNKNOWN_HOST, cross_site, host_allowed
from tests.web.test_home import assert_security_headers

PUBLIC = "https://papers.example.org"
FIRST = "https://first.example"


@pytest.fixture
def client(engine: Engine, monkeypatch: pytest.MonkeyPatch) -> Iterator[TestClient]:
    """The site with a public base URL and the allowed-hosts setting left at its default."""
    monkeypatch.setenv("PAPERFEED_BASE_URL", PUBLIC)
    monkeypatch.delenv("PAPERFEED_ALLOWED_HOSTS")
    config.get_settings.cache_clear()
    with TestClient(create_app(), base_url=PUBLIC, follow_redirects=False) as client:
        yield client


@pytest.mark.parametrize(
    "host",
    ["papers.example.org", "PAPERS.example.org:443", "localhost:8000", "127.0.0.1", "[::1]:8765"],
)
def test_the_base_urls_host_and_loopback_are_served_by_default(
    client: TestClient, host: str
) -> None:
    assert client.get("/docs", headers={"host": host}).status_code == 200


@pytest.mark.parametrize(
    "host",
    [
        "rebind.evil.test:8000",
        "papers.example.org.evil.test",
        "evil.test@papers.example.org",
        "10.0.0.5:8000",
        "[::1",
        "",
    ],
)
def test_any_other_host_is_refused_with_400(client: TestClient, host: str) -> None:
    for method, path in (("GET", "/"), ("GET", "/api/search?q=x"), ("POST", "/subscribe")):
        response = client.request(method, path, headers={"host": host})
        assert response.status_code == 400 and response.text == UNKNOWN_HOST, (method, host)
        assert_security_headers(response)


def test_a_rebinding_pages_anonymous_form_post_is_refused(client: TestClient) -> None:
    # The browser thinks this is same-origin: Host and Origin both name the attacker's site.
    headers = {
        "host": "rebind.evil.test:8000",
        "origin": "http://rebind.evil.test:8000",
        "sec-fetch-site": "same-origin",
    }
    form = {"email": "victim@example.org", "csrf_token": "x"}
    assert client.post("/subscribe", data=form, headers=headers).status_code == 400


def test_listed_hosts_are_served_too(engine: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PAPERFEED_ALLOWED_HOSTS", "intranet.lan, Papers.Internal.")
    config.get_settings.cache_clear()
    with TestClient(create_app(), base_url="http://intranet.lan") as client:
        assert client.get("/docs").status_code == 200
        assert client.get("/docs", headers={"host": "papers.internal:8000"}).status_code == 200
        assert client.get("/docs", headers={"host": "other.lan"}).status_code == 400


def test_a_star_allows_every_host(engine: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PAPERFEED_ALLOWED_HOSTS", "*")
    config.get_settings.cache_clear()
    with TestClient(create_app(), base_url="http://anything.example") as client:
        assert client.get("/docs").status_code == 200


def test_the_base_url_is_read_at_each_request_not_at_start_up(engine: Engine) -> None:
    # `serve` may set the base URL to the address it listens on after the app was made.
    app = create_app(Settings(base_url=FIRST))
    with TestClient(app, base_url="https://second.example") as client:
        assert client.get("/docs").status_code == 400
        app.state.settings = Settings(base_url="https://second.example:8443")
        assert client.get("/docs").status_code == 200
        # Behind a proxy that sends Host 127.0.0.1: the new base URL is the origin trusted.
        for origin, refused in (("https://second.example:8443", False), (FIRST, True)):
            headers = {"origin": origin, "host": "127.0.0.1:8443"}
            response = client.post("/subscribe", data={"email": "x"}, headers=headers)
            assert (response.text == FORBIDDEN) is refused, origin


def test_the_origin_must_be_the_served_one_not_whatever_host_says() -> None:
    settings = Settings(base_url=PUBLIC, allowed_hosts="")

    def cross(origin: str, host: str) -> bool:
        return cross_site(Headers({"origin": origin, "host": host}), settings)

    assert not cross(PUBLIC, "papers.example.org")
    assert not cross(PUBLIC, "internal-name:8000")  # behind a proxy that rewrites Host
    assert not cross("http://127.0.0.1:8000", "127.0.0.1:8000")
    assert cross("http://rebind.evil.test:8000", "rebind.evil.test:8000")
    assert cross("http://127.0.0.1:9999", "127.0.0.1:8000")
    assert cross("null", "papers.example.org")
    assert not host_allowed("rebind.evil.test", settings)
