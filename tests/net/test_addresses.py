"""The address policy against feedkit's and Mastodon's lists of private addresses."""

from __future__ import annotations

import pytest

from paperfeed.ingest.net.addresses import is_public

# feedkit test/feedkit/private_address_test.rb and private_address_check_test.rb, merged.
PRIVATE = [
    "127.0.0.1", "127.10.20.30", "::1", "10.0.0.1", "172.16.0.1", "192.168.1.1",
    "192.168.1.7", "169.254.169.254", "fe80::1", "0.0.0.0", "100.64.0.1", "192.0.0.1",
    "192.0.2.1", "192.88.99.1", "198.18.0.1", "198.51.100.1", "203.0.113.1", "224.0.0.1",
    "240.0.0.1", "255.255.255.255", "::", "64:ff9b::1", "64:ff9b::101:101", "64:ff9b:1::1",
    "100::1", "2001::1", "2001:10::1", "2001:20::1", "2001:db8::1", "2002::1", "2002:c0a8::1",
    "3fff::1", "fc00::1", "fd00::1", "ff00::1", "::ffff:0.0.0.1", "::ffff:127.0.0.1",
    "::ffff:192.168.1.7", "::ffff:169.254.169.254", "::ffff:10.0.0.1",
    # beyond feedkit: IPv4-compatible, site-local, CGNAT edge, scoped link-local
    "::127.0.0.1", "::7f00:1", "fec0::1", "100.127.255.255", "172.31.255.255", "fe80::1%1",
]  # fmt: skip

PUBLIC = [
    "8.8.8.8", "1.1.1.1", "93.184.216.34", "::ffff:93.184.216.34", "::ffff:8.8.8.8",
    "2001:4860:4860::8888", "2606:4700:4700::1111", "2606:2800:220:1:248:1893:25c8:1946",
    "100.63.255.255", "100.128.0.0", "192.0.1.255", "203.0.114.0", "172.32.0.0",
]  # fmt: skip


@pytest.mark.parametrize("address", PRIVATE)
def test_private_and_reserved_addresses_are_refused(address: str) -> None:
    assert not is_public(address), address


@pytest.mark.parametrize("address", PUBLIC)
def test_public_addresses_are_allowed(address: str) -> None:
    assert is_public(address), address
