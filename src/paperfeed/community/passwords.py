"""Passwords: argon2id hashes, rehashed at login when the parameters change, and the policy.

The policy follows NIST SP 800-63B and OWASP ASVS: at least 8 characters, long passphrases
welcome (up to 1,024, a cap only so nobody can make us hash megabytes), no composition rules,
and the most common passwords refused.

``common-passwords.txt.gz`` is the first 3,000 lines of Django 5.2's
``django/contrib/auth/common-passwords.txt.gz`` (Django is BSD-3-Clause licensed; that list was
created by Royce Williams, https://gist.github.com/roycewilliams/226886fd01572964e1431ac8afc999ce),
lower-cased, most common first.
"""

from __future__ import annotations

import gzip
from functools import lru_cache
from importlib.resources import files

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from argon2.profiles import RFC_9106_LOW_MEMORY

MIN_LENGTH = 8
MAX_LENGTH = 1024
COMMON_PASSWORDS = "common-passwords.txt.gz"

# RFC 9106's second recommended profile (argon2id, t=3, m=64 MiB, p=4): strong, and cheap
# enough for a 2-core server. Raising it later rehashes each account at its next login.
HASHER = PasswordHasher.from_parameters(RFC_9106_LOW_MEMORY)


class PasswordRejected(ValueError):
    """A new password that the policy refuses; the message says why, for the form."""


@lru_cache(maxsize=1)
def common_passwords() -> frozenset[str]:
    data = files("paperfeed.community").joinpath(COMMON_PASSWORDS).read_bytes()
    return frozenset(gzip.decompress(data).decode().split())


def check_policy(password: str, *, username: str = "", email: str = "") -> None:
    """Raise ``PasswordRejected`` unless ``password`` may be used for a new or reset password."""
    if len(password) < MIN_LENGTH:
        raise PasswordRejected(f"Use at least {MIN_LENGTH} characters.")
    if len(password) > MAX_LENGTH:
        raise PasswordRejected(f"Use at most {MAX_LENGTH} characters.")
    lowered = password.strip().lower()
    if lowered in common_passwords():
        raise PasswordRejected("This password is too common. Choose another one.")
    if lowered in {username.lower(), email.lower(), email.lower().partition("@")[0]}:
        raise PasswordRejected("The password must not be your username or email address.")


def hash_password(password: str) -> str:
    """An argon2id hash (``$argon2id$...``) with a fresh salt."""
    return HASHER.hash(password)


def verify_password(stored_hash: str, password: str) -> bool:
    """Whether ``password`` matches ``stored_hash``; False for a malformed hash too."""
    try:
        return HASHER.verify(stored_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(stored_hash: str) -> bool:
    """Whether ``stored_hash`` was made with other parameters than ``HASHER``'s."""
    try:
        return HASHER.check_needs_rehash(stored_hash)
    except InvalidHashError:
        return True


@lru_cache(maxsize=1)
def _dummy_hash() -> str:
    return hash_password("an unknown account still costs one verification")


def dummy_verify(password: str) -> None:
    """Spend what a verification costs, so an unknown user is not told apart by timing."""
    verify_password(_dummy_hash(), password)
