"""Which IP addresses a fetch may connect to: public unicast only (SSRF protection).

The list follows feedkit's and Mastodon's PrivateAddressCheck, plus what Python's
``ipaddress`` flags know. IPv6 forms that embed or tunnel to an IPv4 address (IPv4-mapped,
IPv4-compatible, NAT64, 6to4, Teredo) are refused outright or judged by the IPv4 address they
carry, so ``::ffff:127.0.0.1`` cannot slip past the IPv4 rules.
"""

from __future__ import annotations

import ipaddress
from ipaddress import IPv4Address, IPv6Address, ip_network

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
