"""Hosts spelled so that the HTTP client, the resolver and a browser could disagree: IPv4 in
octal, hex or as one integer, and names that are no valid DNS or IDNA names.

Private addresses are refused in every spelling; a malformed host is one clear error, never a
traceback (from the fetcher or from `paperfeed ingest`).
"""

from __future__ import annotations

import socket
from ipaddress import IPv4Address

import pytest
from hypothesis import given
from hypothesis import strategies as st

from paperfeed.config import Settings
from paperfeed.ingest.net.addresses import numeric_ipv4
from paperfeed.ingest.net.http import FetchError, RefusedAddress, fetch
from tests.net.conftest import Reply, Server
from tests.net.test_http import PUBLIC_IP, public_backend

PRIVATE_SPELLINGS = [
    "0177.0.0.1",  # octal
    "0177.1",  # octal, shortened
    "0x7f.0.0.1",  # hex
    "0x7F.0x0.0x0.0x1",
    "0x7f000001",  # one hex number
    "2130706433",  # one decimal number
    "017700000001",  # one octal number
    "127.1",  # shortened
    "0300.0250.0.1",  # 192.168.0.1
    "0xa9fea9fe",  # 169.254.169.254, the cloud metadata service
    "0",  # 0.0.0.0
    "0x7f.0.0.1.",  # a trailing dot
]
INVALID_HOSTS = ["xn--a.com", "a..b", "xn--.example", "1.2.3.999", "08.1.1.1", "a." + "b" * 64]


def settings(**values: object) -> Settings:
    return Settings(fetch_timeout=2, **values)  # type: ignore[arg-type]


@pytest.mark.parametrize("host", PRIVATE_SPELLINGS)
def test_private_addresses_are_refused_in_every_spelling(host: str) -> None:
    with pytest.raises(RefusedAddress, match=r"private or reserved"):
        fetch(f"http://{host}/feed", settings())


@pytest.mark.parametrize("host", INVALID_HOSTS)
def test_an_invalid_host_is_a_fetch_error_naming_it(host: str) -> None:
    with pytest.raises(FetchError, match=r"invalid host") as raised:
        fetch(f"http://{host}/", settings())
    assert not isinstance(raised.value, RefusedAddress)


def test_a_public_address_in_octal_is_refused_with_its_usual_spelling() -> None:
    with pytest.raises(FetchError, match=r"write the address 010\.0\.0\.1 as 8\.0\.0\.1"):
        fetch("http://010.0.0.1/", settings())


def test_a_redirect_to_an_octal_loopback_is_not_followed(server: Server) -> None:
    target = "http://0177.0.0.1:5432/"
    server.route("/feed", lambda q: Reply(302, headers={"Location": target}))
    backend, network = public_backend(server, {"papers.example.org": [PUBLIC_IP]})
    # httpx itself refuses the Location (it checks IPv4 hosts strictly): an error, not a hop.
    with pytest.raises(FetchError, match=r"0177\.0\.0\.1"):
        fetch("http://papers.example.org/feed", settings(), backend=backend)
    assert network.connects == [(PUBLIC_IP, 80)]  # never connected to 5432


def _spelled(value: int, parts: int, styles: list[str]) -> str:
    """``value`` as an IPv4 host of ``parts`` parts, each in octal, hex or decimal."""
    sizes = [1] * (parts - 1) + [4 - (parts - 1)]
    numbers, shift = [], 32
    for size in sizes:
        shift -= 8 * size
        numbers.append((value >> shift) & ((1 << (8 * size)) - 1))
    forms = {"o": lambda n: f"0{n:o}", "x": lambda n: f"0x{n:x}", "d": str}
    return ".".join(forms[style](n) for n, style in zip(numbers, styles, strict=False))


@given(
    st.integers(0, 2**32 - 1),
    st.integers(1, 4),
    st.lists(st.sampled_from("oxd"), min_size=4, max_size=4),
)
def test_numeric_hosts_mean_what_inet_aton_makes_of_them(
    value: int, parts: int, styles: list[str]
) -> None:
    host = _spelled(value, parts, styles)
    assert numeric_ipv4(host) == IPv4Address(value)
    assert IPv4Address(socket.inet_aton(host)) == IPv4Address(value)  # the C library agrees
