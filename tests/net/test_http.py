"""The safe fetcher: schemes, private addresses, redirects, size cap, timeouts (RELIABILITY 18)."""

from __future__ import annotations

import gzip
import time
from typing import Any

import httpcore
import pytest

from paperfeed.config import Settings
from paperfeed.ingest.net import http
from paperfeed.ingest.net.addresses import IPAddress
from paperfeed.ingest.net.http import FetchError, RefusedAddress, VettingBackend, fetch
from tests.net.conftest import Reply, Server

PUBLIC_IP = "93.184.216.34"


def settings(**values: Any) -> Settings:
    return Settings(**{"fetch_timeout": 2.0, **values})


class RoutedNetwork(httpcore.NetworkBackend):
    """A fake Internet: connections to the public test address reach the loopback server."""

    def __init__(self, server: Server) -> None:
        self.server = server
        self.connects: list[tuple[str, int]] = []
        self.real = httpcore.SyncBackend()

    def connect_tcp(self, host: str, port: int, *args: Any, **kwargs: Any) -> Any:
        self.connects.append((host, port))
        if host == PUBLIC_IP:
            return self.real.connect_tcp("127.0.0.1", self.server.port, *args, **kwargs)
        raise httpcore.ConnectError(f"test network: no route to {host}")


def fake_dns(answers: dict[str, list[str]]) -> Any:
    import ipaddress

    calls: list[str] = []

    def resolve(host: str, port: int) -> list[IPAddress]:
        calls.append(host)
        if host in answers:
            return [ipaddress.ip_address(a) for a in answers[host]]
        return http.resolve_host(host, port)

    resolve.calls = calls  # type: ignore[attr-defined]
    return resolve


def public_backend(server: Server, dns: dict[str, list[str]]) -> tuple[VettingBackend, Any]:
    network = RoutedNetwork(server)
    return VettingBackend(False, fake_dns(dns), network), network


@pytest.mark.parametrize(
    "url",
    ["file:///etc/passwd", "ftp://example.org/x", "gopher://example.org/", "data:,hi", "//x/y"],
)
def test_only_http_and_https_urls(url: str) -> None:
    with pytest.raises(FetchError, match=r"only http"):
        fetch(url, settings())


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:5432/",
        "http://localhost/",
        "http://[::1]/",
        "http://2130706433/",
        "http://0x7f.1/",
        "http://169.254.169.254/latest/meta-data/",
        "http://[::ffff:127.0.0.1]/",
        "http://0.0.0.0/",
    ],
)
def test_private_hosts_are_refused_before_connecting(url: str) -> None:
    with pytest.raises(FetchError, match=r"refused|private|resolve|Invalid"):
        fetch(url, settings())


def test_loopback_server_is_refused_unless_allowed(server: Server) -> None:
    server.route("/feed", lambda q: Reply(200, b"hello"))
    with pytest.raises(RefusedAddress, match=r"ALLOW_PRIVATE_URLS"):
        fetch(f"{server.url}/feed", settings())
    assert server.seen == []  # nothing reached the server
    assert fetch(f"{server.url}/feed", settings(allow_private_urls=True)).body == b"hello"


def test_a_host_with_mixed_public_and_private_addresses_is_refused(server: Server) -> None:
    server.route("/feed", lambda q: Reply(200, b"hello"))
    backend, network = public_backend(server, {"mixed.example.org": [PUBLIC_IP, "10.0.0.7"]})
    with pytest.raises(RefusedAddress, match=r"mixed\.example\.org.*10\.0\.0\.7"):
        fetch(f"http://mixed.example.org:{80}/feed", settings(), backend=backend)
    assert network.connects == []


def test_connects_to_the_address_it_vetted(server: Server) -> None:
    server.route("/feed", lambda q: Reply(200, b"public"))
    backend, network = public_backend(server, {"papers.example.org": [PUBLIC_IP]})
    response = fetch("http://papers.example.org/feed", settings(), backend=backend)
    assert response.body == b"public"
    # One lookup, and the socket went to the vetted address (no second lookup to rebind).
    assert backend.resolve.calls == ["papers.example.org"]  # type: ignore[attr-defined]
    assert network.connects == [(PUBLIC_IP, 80)]


def test_redirect_to_loopback_database_port_is_refused(server: Server) -> None:
    server.route("/feed", lambda q: Reply(302, headers={"Location": "http://127.0.0.1:5432/"}))
    backend, network = public_backend(server, {"papers.example.org": [PUBLIC_IP]})
    with pytest.raises(RefusedAddress, match=r"127\.0\.0\.1:5432.*127\.0\.0\.1"):
        fetch("http://papers.example.org/feed", settings(), backend=backend)
    assert network.connects == [(PUBLIC_IP, 80)]  # never connected to 5432


def test_redirects_are_followed_and_rechecked(server: Server) -> None:
    server.route("/a", lambda q: Reply(301, headers={"Location": "/b"}))
    server.route("/b", lambda q: Reply(307, headers={"Location": "/c?x=1"}))
    server.route("/c", lambda q: Reply(200, b"done"))
    response = fetch(f"{server.url}/a", settings(allow_private_urls=True))
    assert (response.body, response.url) == (b"done", f"{server.url}/c?x=1")


def test_redirect_loops_stop_after_five_hops(server: Server) -> None:
    server.route("/loop", lambda q: Reply(302, headers={"Location": "/loop"}))
    with pytest.raises(FetchError, match=r"more than 5 redirects"):
        fetch(f"{server.url}/loop", settings(allow_private_urls=True))
    assert len(server.seen) == 6


def test_redirect_to_another_scheme_is_refused(server: Server) -> None:
    server.route("/r", lambda q: Reply(302, headers={"Location": "file:///etc/passwd"}))
    with pytest.raises(FetchError, match=r"scheme 'file' refused"):
        fetch(f"{server.url}/r", settings(allow_private_urls=True))


def test_oversized_body_is_cut_off(server: Server) -> None:
    server.route("/big", lambda q: Reply(200, b"x" * 5000))
    with pytest.raises(FetchError, match=r"over the 1,000-byte cap"):
        fetch(f"{server.url}/big", settings(allow_private_urls=True, fetch_max_bytes=1000))
    body = fetch(f"{server.url}/big", settings(allow_private_urls=True, fetch_max_bytes=5000))
    assert len(body.body) == 5000


def test_gzip_bomb_is_cut_off_after_decompression(server: Server) -> None:
    bomb = gzip.compress(b"\0" * 10_000_000)
    assert len(bomb) < 20_000
    server.route("/bomb", lambda q: Reply(200, bomb, {"Content-Encoding": "gzip"}))
    with pytest.raises(FetchError, match=r"cap"):
        fetch(f"{server.url}/bomb", settings(allow_private_urls=True, fetch_max_bytes=100_000))


def test_gzip_body_is_decoded(server: Server) -> None:
    server.route(
        "/gz", lambda q: Reply(200, gzip.compress(b"hello" * 100), {"Content-Encoding": "gzip"})
    )
    response = fetch(f"{server.url}/gz", settings(allow_private_urls=True))
    assert response.body == b"hello" * 100


def test_slowloris_server_is_cut_off_by_the_deadline(server: Server) -> None:
    server.route("/slow", lambda q: Reply(200, b"x" * 1000, trickle=0.05))
    started = time.monotonic()
    with pytest.raises(FetchError, match=r"too slow"):
        fetch(f"{server.url}/slow", settings(allow_private_urls=True), deadline=0.5)
    assert time.monotonic() - started < 2.0


def test_silent_server_hits_the_read_timeout(server: Server) -> None:
    server.route("/silent", lambda q: Reply(200, b"late", delay=1.5))
    with pytest.raises(FetchError, match=r"timed out"):
        fetch(f"{server.url}/silent", settings(allow_private_urls=True, fetch_timeout=0.3))


def test_error_statuses_are_returned_for_the_caller(server: Server) -> None:
    server.route("/gone", lambda q: Reply(404, b"no"))
    assert fetch(f"{server.url}/gone", settings(allow_private_urls=True)).status == 404


def test_connection_refused_is_a_clear_error() -> None:
    import socket

    with socket.socket() as probe:  # a port that nothing listens on once closed
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with pytest.raises(FetchError, match=rf"127\.0\.0\.1:{port}.*ConnectError"):
        fetch(f"http://127.0.0.1:{port}/", settings(allow_private_urls=True))
