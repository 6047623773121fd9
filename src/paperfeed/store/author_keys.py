"""One normalisation of author names, for ``author:`` search on both backends.

A name's key is its words (letters and digits), accents removed, case folded, surname first:
"Yang Li", "YANG  LI" and "Yáng Li" all key as ``li yang``; "Jean-Pierre Dupont" as
``dupont jean pierre``. The surname is the last word. Surname first makes an initial a key
prefix ("Y. Li" -> every key starting ``li y``), which an index range answers on either
backend; a full name matches only its own key.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

_WORD = re.compile(r"[^\W_]+")


def name_words(name: str) -> list[str]:
    """The words of ``name``, accents removed and case folded."""
    decomposed = unicodedata.normalize("NFKD", name)
    plain = "".join(c for c in decomposed if not unicodedata.combining(c))
    return _WORD.findall(plain.casefold())


def author_key(name: str) -> str:
    """``name`` as its stored key: surname first, then the given names ('' without words)."""
    words = name_words(name)
    return " ".join([words[-1], *words[:-1]]) if words else ""


@dataclass(frozen=True, slots=True)
class AuthorMatch:
    """What an ``author:`` value matches: one exact key, or every key with a prefix."""

    key: str
    prefix: bool  # True: "Y. Li" -> keys starting "li y"


def author_match(value: str) -> AuthorMatch | None:
    """How ``value`` (as typed after ``author:``) matches keys; None when it has no words.

    A given name of one letter is an initial: it matches any given name with that first
    letter, and the words after it are not compared. One word alone is a surname: every
    author with that surname.
    """
    words = name_words(value)
    if not words:
        return None
    surname, given = words[-1], words[:-1]
    if not given:
        return AuthorMatch(surname, True)
    for i, word in enumerate(given):
        if len(word) == 1:
            return AuthorMatch(" ".join([surname, *given[: i + 1]]), True)
    return AuthorMatch(" ".join([surname, *given]), False)
