"""Unpadded URL-safe base64 with one spelling per value: what signed links are made of."""

from __future__ import annotations

import base64
import binascii


def encode(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def decode(text: str) -> bytes:
    """The bytes of ``text``; ValueError unless ``text`` is exactly ``encode`` of them (no
    padding, no characters outside the alphabet, no ignored trailing bits)."""
    try:
        data = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError, TypeError):
        raise ValueError("not URL-safe base64") from None
    if not text or encode(data) != text:
        raise ValueError("not canonical URL-safe base64")
    return data
