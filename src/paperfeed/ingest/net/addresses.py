"""Which IP addresses a fetch may connect to: public unicast only (SSRF protection).

The list follows feedkit's and Mastodon's PrivateAddressCheck, plus what Python's
``ipaddress`` flags know. IPv6 forms that embed or tunnel to an IPv4 address (IPv4-mapped,
IPv4-compatible, NAT64, 6to4, Teredo) are refused outright or judged by the IPv4 address they
carry, so ``::ffff:127.0.0.1`` cannot slip past the IPv4 rules.
"""

from __future__ import annotations

import ipaddress
import re
from ipaddress import IPv4Address, IPv6Address, ip_network

import idna

IPAddress = IPv4Address | IPv6Address

_BLOCKED = tuple(
    ip_network(cidr)
    for cidr in (
        # IPv4
        "0.0.0.0/8",  # "this network"; 0.0.0.0 reaches the local host on Linux
        "10.0.0.0/8",  # RFC 1918
        "100.64.0.0/10",  # shared address space (carrier-grade NAT)
        "127.0.0.0/8",  # loopback
        "169.254.0.0/16",  # link-local, incl. the 169.254.169.254 cloud metadata service
        "172.16.0.0/12",  # RFC 1918
        "192.0.0.0/24",  # IETF protocol assignments
        "192.0.2.0/24",  # TEST-NET-1
        "192.88.99.0/24",  # 6to4 relay anycast
        "192.168.0.0/16",  # RFC 1918
        "198.18.0.0/15",  # benchmarking
        "198.51.100.0/24",  # TEST-NET-2
        "203.0.113.0/24",  # TEST-NET-3
        "224.0.0.0/4",  # multicast
        "240.0.0.0/4",  # reserved (class E) and 255.255.255.255 broadcast
        # IPv6
        "::/96",  # unspecified, loopback and deprecated IPv4-compatible (::a.b.c.d)
        "::ffff:0:0/96",  # IPv4-mapped: judged by its IPv4 address below, blocked if unknown
        "64:ff9b::/96",  # NAT64 (RFC 6052)
        "64:ff9b:1::/48",  # local-use NAT64 (RFC 8215)
        "100::/64",  # discard prefix
        "2001::/32",  # Teredo
        "2001:10::/28",  # ORCHID (deprecated)
        "2001:20::/28",  # ORCHIDv2
        "2001:db8::/32",  # documentation
        "2002::/16",  # 6to4
        "3fff::/20",  # documentation (RFC 9637)
        "fc00::/7",  # unique local addresses
        "fe80::/10",  # link-local
        "fec0::/10",  # site-local (deprecated)
        "ff00::/8",  # multicast
    )
)


def is_public(address: IPAddress | str) -> bool:
    """True when ``address`` is a public unicast address a fetch may connect to."""
    ip = ipaddress.ip_address(address) if isinstance(address, str) else address
    if isinstance(ip, IPv6Address):
        if ip.scope_id:  # "fe80::1%eth0": a zone only makes sense on a local link
            return False
        mapped = ip.ipv4_mapped
        if mapped is not None:
            return is_public(mapped)
    if any(ip in network for network in _BLOCKED if network.version == ip.version):
        return False
    flags = (ip.is_private, ip.is_loopback, ip.is_link_local, ip.is_multicast)
    if any(flags) or ip.is_reserved or ip.is_unspecified:
        return False
    return ip.is_global


_IPV4_PART = re.compile(r"^(?:0[xX][0-9a-fA-F]*|[0-9]+)$")


def numeric_ipv4(host: str) -> IPv4Address | None:
    """The address a host written as a number means to inet_aton and to browsers (WHATWG URL):
    ``0177.0.0.1`` (octal), ``0x7f.1`` (hex, shortened), ``2130706433`` (one integer) are all
    127.0.0.1. None when the host is a name, not a number; ValueError when it is a number that
    is no IPv4 address (``1.2.3.999``)."""
    parts = host.removesuffix(".").split(".")
    if not _IPV4_PART.match(parts[-1]):
        return None  # WHATWG: a host is a number when its last label is one
    if len(parts) > 4 or not all(_IPV4_PART.match(part) for part in parts):
        raise ValueError(f"{host} is not an IPv4 address")
    numbers = [_ipv4_number(part) for part in parts]
    *leading, last = numbers
    if any(n > 255 for n in leading) or last >= 256 ** (5 - len(numbers)):
        raise ValueError(f"{host} is not an IPv4 address")
    value = sum(n << (8 * (3 - index)) for index, n in enumerate(leading)) + last
    return IPv4Address(value)


def _ipv4_number(part: str) -> int:
    if part[:2].lower() == "0x":
        return int(part[2:] or "0", 16)
    if len(part) > 1 and part.startswith("0"):
        if not set(part) <= set("01234567"):
            raise ValueError(f"{part} is neither octal nor decimal")
        return int(part, 8)
    return int(part)


def host_name_problem(host: str) -> str | None:
    """Why ``host`` is not a DNS name a fetch could resolve, or None: empty or over-long labels
    (``a..b``), invalid punycode (``xn--a``), a name over 253 characters."""
    name = host.removesuffix(".")
    if not name or len(name) > 253:
        return "the host name is empty or longer than 253 characters"
    for label in name.split("."):
        if not 0 < len(label) <= 63:
            return "a label of the host name is empty or longer than 63 characters"
        if label.lower().startswith("xn--"):
            try:
                idna.decode(label)
            except (idna.IDNAError, UnicodeError):
                return f"{label!r} is not valid punycode (IDNA)"
    return None
