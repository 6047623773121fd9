"""The safe fetcher: every URL paperfeed fetches goes through ``fetch``.

What it guards against (RELIABILITY.md item 18, server-side request forgery):
- schemes other than http(s);
- hosts on loopback, private, link-local, multicast, reserved ... networks (see addresses.py):
  a host is refused when ANY address it resolves to is not public;
- DNS rebinding: the address is vetted *inside* the connection step and the socket is opened
  to exactly that vetted address (see VettingBackend), so a second, different DNS answer
  between "check" and "connect" cannot happen: there is only one lookup;
- redirects: followed by hand (at most MAX_REDIRECTS) and each hop goes through the same
  checks, so a public URL cannot bounce us to ``127.0.0.1:5432``;
- huge or endless bodies: streamed with a byte cap (``fetch_max_bytes``), counted after
  decompression, so a gzip bomb is cut off too;
- slow servers: a per-read timeout (``fetch_timeout``) and an overall deadline
  (DEADLINE_FACTOR x ``fetch_timeout`` unless given), so a server that trickles one byte at a
  time is cut off as well.
"""

from __future__ import annotations

import socket
import time
import zlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urljoin, urlsplit

import httpcore
import httpx

from paperfeed.config import Settings
from paperfeed.ingest.formats import IngestError
from paperfeed.ingest.net.addresses import (
    IPAddress,
    host_name_problem,
    is_public,
    numeric_ipv4,
)

MAX_REDIRECTS = 5
CONNECT_S = 10.0
DEADLINE_FACTOR = 10
USER_AGENT = "paperfeed/0.1 (self-hosted research-paper discovery)"
_REDIRECTS = (301, 302, 303, 307, 308)
_CHUNK = 64 * 1024

Resolver = Callable[[str, int], list[IPAddress]]


class FetchError(IngestError):
    """A URL could not be fetched; the message names the URL and the reason."""

    def __init__(self, url: str, reason: str, status: int | None = None) -> None:
        super().__init__(f"{url}: {reason}")
        self.url, self.reason, self.status = url, reason, status


class RefusedAddress(FetchError):
    """The URL points at an address paperfeed must not connect to."""


class Unreachable(FetchError):
    """No connection could be made: the name does not resolve, or nothing answers at it."""


@dataclass(slots=True)
class Response:
    """A fetched response: the final URL (after redirects), status, headers and whole body."""

    url: str
    status: int
    headers: httpx.Headers
    body: bytes = field(repr=False)


def resolve_host(host: str, port: int) -> list[IPAddress]:
    """Every address ``host`` resolves to (a literal address resolves to itself)."""
    import ipaddress

    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as error:
        raise httpcore.ConnectError(f"cannot resolve {host}: {error.strerror}") from None
    except UnicodeError:  # the idna codec refuses the name (an empty or over-long label)
        raise httpcore.ConnectError(f"cannot resolve {host}: not a valid host name") from None
    # A scoped "fe80::1%eth0" keeps its zone, which addresses.is_public refuses.
    found = dict.fromkeys(ipaddress.ip_address(str(info[4][0])) for info in infos)
    return list(found)


class VettingBackend(httpcore.NetworkBackend):
    """httpcore's network layer with the address check where the connection is made.

    httpcore hands us the host name; we resolve it once, refuse it if any answer is not
    public, and connect to the vetted address itself. TLS still verifies the certificate
    against the host name, because httpcore passes the original name to start_tls.
    """

    def __init__(
        self,
        allow_private: bool,
        resolve: Resolver = resolve_host,
        inner: httpcore.NetworkBackend | None = None,
    ) -> None:
        self.allow_private = allow_private
        self.resolve = resolve
        self.inner = inner or httpcore.SyncBackend()

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.NetworkStream:
        addresses = self.resolve(host.strip("[]"), port)
        if not addresses:
            raise httpcore.ConnectError(f"{host} has no addresses")
        refused = [str(a) for a in addresses if not is_public(a)]
        if refused and not self.allow_private:
            raise _Refused(host, refused)
        last: Exception | None = None
        for address in addresses:
            try:
                return self.inner.connect_tcp(
                    str(address), port, timeout, local_address, socket_options
                )
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as error:
                last = error
        assert last is not None
        raise last

    def sleep(self, seconds: float) -> None:
        time.sleep(seconds)


class _Refused(Exception):
    """Raised inside httpcore; turned into RefusedAddress with the URL once it surfaces."""

    def __init__(self, host: str, addresses: list[str]) -> None:
        super().__init__(
            f"refused: {host} resolves to a private or reserved address "
            f"({', '.join(addresses)}); set PAPERFEED_ALLOW_PRIVATE_URLS=1 to allow it"
        )


class _VettingTransport(httpx.HTTPTransport):
    def __init__(self, backend: httpcore.NetworkBackend) -> None:
        super().__init__(trust_env=False)  # no proxies from the environment: we vet the target
        # httpx has no public way to choose the network backend, so the pool it built is
        # replaced by one that uses ours (same TLS context, no keep-alive between fetches).
        ssl_context = httpx.create_ssl_context(trust_env=False)
        self._pool = httpcore.ConnectionPool(
            ssl_context=ssl_context, network_backend=backend, max_keepalive_connections=0
        )


def fetch(
    url: str,
    settings: Settings,
    *,
    headers: dict[str, str] | None = None,
    deadline: float | None = None,
    backend: httpcore.NetworkBackend | None = None,
) -> Response:
    """GET ``url`` safely (see the module docstring); raise FetchError on any failure.

    A non-2xx final status is returned, not raised: callers such as the arXiv client decide
    what a 503 means. ``backend`` replaces the address-vetting network layer (tests).
    """
    limit = settings.fetch_timeout * DEADLINE_FACTOR if deadline is None else deadline
    ends = time.monotonic() + limit
    backend = backend or VettingBackend(settings.allow_private_urls)
    # A host that takes longer than this to accept a connection is down, however patient the
    # reads may be (a big file on a slow link).
    timeout = httpx.Timeout(settings.fetch_timeout, connect=min(settings.fetch_timeout, CONNECT_S))
    sent = {"User-Agent": USER_AGENT, "Accept-Encoding": "gzip", **(headers or {})}
    transport = _VettingTransport(backend)
    with httpx.Client(transport=transport, timeout=timeout, follow_redirects=False) as client:
        current = url
        for _hop in range(MAX_REDIRECTS + 1):
            _check_url(current, settings.allow_private_urls)
            result = _get_once(client, current, sent, settings.fetch_max_bytes, ends, limit)
            if isinstance(result, Response):
                return result
            current = result
    raise FetchError(url, f"more than {MAX_REDIRECTS} redirects")


def _check_url(url: str, allow_private: bool) -> None:
    try:
        parts = urlsplit(url)
        host = parts.hostname
    except ValueError as error:  # e.g. an unclosed [ of an IPv6 address
        raise FetchError(url, f"not a valid URL ({error})") from None
    if parts.scheme.lower() not in ("http", "https"):
        raise FetchError(url, f"scheme {parts.scheme or '(none)'!r} refused: only http(s) URLs")
    if not host:
        raise FetchError(url, "no host in the URL")
    if ":" not in host:  # an IPv6 literal is vetted where the connection is made
        _check_host(url, host, allow_private)


def _check_host(url: str, host: str, allow_private: bool) -> None:
    """Refuse hosts that the HTTP client, the resolver and a browser would read differently:
    IPv4 addresses in octal, hex or integer spelling, and malformed names."""
    try:
        number = numeric_ipv4(host)
    except ValueError as error:
        raise FetchError(url, f"invalid host: {error}") from None
    if number is None:
        if problem := host_name_problem(host):
            raise FetchError(url, f"invalid host {host!r}: {problem}")
        return
    if str(number) == host.removesuffix("."):
        return  # the usual spelling: vetted where the connection is made
    if not is_public(number) and not allow_private:
        raise RefusedAddress(
            url,
            f"refused: {host} is the private or reserved address {number}; set "
            "PAPERFEED_ALLOW_PRIVATE_URLS=1 to allow it",
        )
    raise FetchError(url, f"invalid host: write the address {host} as {number}")


def _get_once(
    client: httpx.Client, url: str, headers: dict[str, str], cap: int, ends: float, limit: float
) -> Response | str:
    """One request: a Response, or the next URL when the answer is a redirect."""
    try:
        with client.stream("GET", url, headers=headers) as reply:
            if reply.status_code in _REDIRECTS and "location" in reply.headers:
                return urljoin(url, reply.headers["location"])
            body = _read_body(reply, url, cap, ends, limit)
            return Response(str(reply.url), reply.status_code, reply.headers, body)
    except _Refused as error:
        raise RefusedAddress(url, str(error)) from None
    except httpx.ConnectTimeout:
        raise Unreachable(url, "no answer to the connection (ConnectTimeout)") from None
    except httpx.ConnectError as error:
        raise Unreachable(url, f"ConnectError: {error}") from None
    except httpx.TimeoutException as error:
        raise FetchError(url, f"timed out ({type(error).__name__})") from None
    except httpx.HTTPError as error:
        raise FetchError(url, f"{type(error).__name__}: {error}") from None
    except (httpx.InvalidURL, UnicodeError) as error:  # httpx's own URL and IDNA checks
        raise FetchError(url, f"not a valid URL ({error})") from None


def _read_body(reply: httpx.Response, url: str, cap: int, ends: float, limit: float) -> bytes:
    declared = reply.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > cap and not _compressed(reply):
        raise FetchError(url, f"response of {int(declared):,} bytes is over the {cap:,}-byte cap")
    decoder = _decoder(reply, url)
    parts: list[bytes] = []
    size = 0
    for raw in reply.iter_raw():  # no chunk_size: it would buffer up to a full chunk
        if time.monotonic() > ends:
            raise FetchError(url, f"too slow: the response took over {limit:g} s")
        for piece in decoder(raw, cap - size + 1):
            size += len(piece)
            if size > cap:
                raise FetchError(url, f"response is over the {cap:,}-byte cap")
            parts.append(piece)
    return b"".join(parts)


def _compressed(reply: httpx.Response) -> bool:
    return reply.headers.get("content-encoding", "identity").lower() not in ("", "identity")


Decoder = Callable[[bytes, int], Iterable[bytes]]


def _decoder(reply: httpx.Response, url: str) -> Decoder:
    """Decode the body ourselves, bounded, so a small gzip bomb cannot fill the memory."""
    encoding = reply.headers.get("content-encoding", "identity").lower().strip()
    if encoding in ("", "identity"):
        return lambda raw, _room: (raw,)
    if encoding not in ("gzip", "x-gzip"):
        raise FetchError(url, f"unsupported Content-Encoding {encoding!r}")
    inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)

    def decode(raw: bytes, room: int) -> Iterable[bytes]:
        data = raw
        try:
            while data:
                # max_length bounds each output piece; what is left stays in unconsumed_tail.
                piece = inflater.decompress(data, min(max(room, 1), _CHUNK * 16))
                yield piece
                room -= len(piece)
                data = inflater.unconsumed_tail
        except zlib.error as error:
            raise FetchError(url, f"bad gzip body: {error}") from None

    return decode
