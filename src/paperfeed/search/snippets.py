"""Highlighted snippets: the query's words (and other forms of them) marked in title and abstract.

Matching is by Porter stem, the same stemmer the SQLite index uses (``porter unicode61``), so a
query for "models" marks "model" and "modeling" exactly as the index matched them. Output comes
twice: plain text with markers (CLI, JSON) and safe HTML (escaped text, ``<mark>`` around hits).
"""

from __future__ import annotations

import html
import re
from bisect import bisect_left
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import snowballstemmer

_STEMMER = snowballstemmer.stemmer("porter")
MARK_OPEN, MARK_CLOSE = "**", "**"
ELLIPSIS = "…"

Span = tuple[int, int]


# Which code points are word characters (``[^\W_]``, that is ``str.isalnum``): a table for the
# ASCII range, ``isalnum`` for the rest.
_ASCII_WORD = np.array([chr(c).isalnum() for c in range(128)], dtype=bool)


def word_starts(text: str) -> list[int]:
    r"""Where each word (a run of letters and digits: ``[^\W_]+``, as unicode61 splits) begins.

    Vectorised over the code points: a result page makes 20 snippets of ~200-word abstracts,
    and one regex match object per word was measured at ~40 us an abstract, ~5x this.
    """
    if not text:
        return []
    points = np.frombuffer(text.encode("utf-32-le", "surrogatepass"), dtype=np.uint32)
    ascii_ = points < 128
    is_word = _ASCII_WORD[np.where(ascii_, points, 0)]
    if not ascii_.all():
        for i in np.flatnonzero(~ascii_).tolist():
            is_word[i] = text[i].isalnum()
    begins = is_word.copy()
    begins[1:] &= ~is_word[:-1]
    return np.flatnonzero(begins).tolist()


@lru_cache(maxsize=65_536)
def stem(word: str) -> str:
    """The Porter stem of a word, lower-cased (cached: abstracts repeat their vocabulary)."""
    return str(_STEMMER.stemWord(word.casefold()))


class TermMatcher:
    """Finds the words of a text whose stem is one of the query's stems."""

    def __init__(self, words: Iterable[str]) -> None:
        self.stems = frozenset(stem(w) for w in words if w)
        # Prefilter with one regex on each stem's first letters (a stem is, to within its
        # last letters, a prefix of the word), so only likely words are stemmed in Python.
        prefixes = sorted({s[:3] for s in self.stems}, key=len, reverse=True)
        alternation = "|".join(re.escape(p) for p in prefixes)
        self._candidates = re.compile(rf"\b(?:{alternation})[^\W_]*", re.I) if prefixes else None

    def spans(self, text: str) -> list[Span]:
        """Character spans of matching words, in order."""
        if self._candidates is None:
            return []
        found = self._candidates.finditer(text)
        return [m.span() for m in found if stem(m.group(0)) in self.stems]

    def counts(self, text: str) -> dict[str, int]:
        """How often each query stem occurs in ``text``."""
        counts: dict[str, int] = {}
        for start, end in self.spans(text):
            key = stem(text[start:end])
            counts[key] = counts.get(key, 0) + 1
        return counts


@dataclass(frozen=True, slots=True)
class Snippet:
    """A result's title and abstract window, each as marked plain text and as safe HTML."""

    title_text: str
    title_html: str
    text: str
    html: str

    def as_dict(self) -> dict[str, str]:
        return {
            "title_text": self.title_text,
            "title_html": self.title_html,
            "text": self.text,
            "html": self.html,
        }


def make_snippet(matcher: TermMatcher, title: str, abstract: str, window: int = 40) -> Snippet:
    """Mark matches in the title and in the ``window`` words of the abstract that hold most."""
    every = matcher.spans(abstract)
    start, end, prefix, suffix = _best_window(every, abstract, window)
    part = abstract[start:end]
    spans = [(s - start, e - start) for s, e in every if s >= start and e <= end]
    title_spans = matcher.spans(title)
    return Snippet(
        title_text=mark_text(title, title_spans),
        title_html=mark_html(title, title_spans),
        text=prefix + mark_text(part, spans) + suffix,
        html=html.escape(prefix) + mark_html(part, spans) + html.escape(suffix),
    )


def _best_window(spans: list[Span], text: str, window: int) -> tuple[int, int, str, str]:
    """The character range of the ``window``-word stretch with the most distinct matches."""
    starts = word_starts(text)
    if len(starts) <= window:
        return 0, len(text), "", ""
    hits = [(bisect_left(starts, s), stem(text[s:e])) for s, e in spans]
    best, best_score = 0, -1
    # Try windows that start a few words before the first hit of each word (and the very
    # start): a handful of windows, where one per hit was quadratic for words like "the".
    firsts: dict[str, int] = {}
    for index, key in hits:
        firsts.setdefault(key, index)
    for first in sorted({0, *(index - 3 for index in firsts.values())}):
        first = max(0, min(first, len(starts) - window))
        score = len({key for index, key in hits if first <= index < first + window})
        if score > best_score:
            best, best_score = first, score
    last = best + window
    end = starts[last] if last < len(starts) else len(text)
    prefix = ELLIPSIS if best > 0 else ""
    suffix = ELLIPSIS if last < len(starts) else ""
    return starts[best], end, prefix, suffix


def mark_text(text: str, spans: list[Span]) -> str:
    return _mark(text, spans, lambda s: s, MARK_OPEN, MARK_CLOSE)


def mark_html(text: str, spans: list[Span]) -> str:
    return _mark(text, spans, html.escape, "<mark>", "</mark>")


def _mark(text: str, spans: list[Span], escape: object, open_: str, close: str) -> str:
    out, position = [], 0
    fn = escape if callable(escape) else str
    for start, end in spans:
        out += [fn(text[position:start]), open_, fn(text[start:end]), close]
        position = end
    out.append(fn(text[position:]))
    return "".join(out)
