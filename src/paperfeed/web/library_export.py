"""The library as BibTeX: ``/library.bib`` (every saved paper) or ``?tag=`` (one tag)."""

from __future__ import annotations

import re
from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.responses import Response

from paperfeed.community.library import library
from paperfeed.web.auth_deps import UserDep
from paperfeed.web.deps import EngineDep
from paperfeed.web.paper_page import bibtex, bibtex_key

router = APIRouter(include_in_schema=False)


def library_bibtex(entries: list[str], keys: list[str]) -> str:
    """Entries with keys made unique (``key``, ``keyb``, ``keyc``...), as BibTeX tools need."""
    seen: dict[str, int] = {}
    out = []
    for entry, key in zip(entries, keys, strict=True):
        count = seen.get(key, 0)
        seen[key] = count + 1
        unique = (
            key
            if count == 0
            else f"{key}{chr(ord('a') + count)}"
            if count < 26
            else f"{key}{count}"
        )
        out.append(entry.replace("{" + key + ",", "{" + unique + ",", 1))
    return "\n".join(out)


@router.get("/library.bib")
def library_bib(
    engine: EngineDep,
    user: UserDep,
    tag: Annotated[str | None, Query(max_length=64)] = None,
) -> Response:
    entries = library(engine, user.pk, tag)
    papers = [entry.paper for entry in entries]
    text = library_bibtex([bibtex(p) for p in papers], [bibtex_key(p) for p in papers])
    name = re.sub(r"[^a-z0-9-]+", "-", (tag or "library").lower()).strip("-") or "library"
    headers = {"content-disposition": f'attachment; filename="{name}.bib"'}
    return Response(text, media_type="application/x-bibtex; charset=utf-8", headers=headers)
