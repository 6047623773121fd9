"""A misspelt query, spelled as the papers spell it: "landmrk atention" -> "landmark attention".

The lexical planner corrects an unknown word to the nearest indexed one, but the index holds
stems ("attent"), which neither read well on the page nor embed well. The word a correction
stands for is taken from the papers it found: the first word of their titles and abstracts
with that stem. The semantic side then searches for the corrected text too, since the model
reads "atention" as noise, and the page says what it showed results for.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from sqlalchemy import Connection

from paperfeed.search.snippets import TermMatcher
from paperfeed.store.embeddings import paper_texts

PAPERS_READ = 3  # the best lexical hits, read for the words their stems stand for


def corrected_text(
    conn: Connection, text: str, corrected: dict[str, str], pks: Sequence[int]
) -> str | None:
    """``text`` with each corrected word as the papers ``pks`` spell it; None when no
    correction could be spelled out (or there was none)."""
    if not corrected or not pks:
        return None
    texts = paper_texts(conn, list(pks[:PAPERS_READ]))
    ordered = [" ".join(texts[pk]) for pk in pks[:PAPERS_READ] if pk in texts]
    found = {wrong.casefold(): _spelled(fixed, ordered) for wrong, fixed in corrected.items()}
    spelled = {wrong: words for wrong, words in found.items() if words is not None}
    if not spelled:
        return None
    pattern = re.compile(r"\b(" + "|".join(map(re.escape, spelled)) + r")\b", re.I)
    return pattern.sub(lambda m: spelled[m.group(1).casefold()], text)


def _spelled(stems: str, texts: list[str]) -> str | None:
    """The words (lower case) that ``stems`` stand for in ``texts``, or None if one is absent."""
    words = []
    for stem in stems.split():
        matcher = TermMatcher([stem])
        found = next(
            (text[s:e].lower() for text in texts for s, e in matcher.spans(text)[:1]), None
        )
        if found is None:
            return None
        words.append(found)
    return " ".join(words)
