"""The library as BibTeX or RIS: ``/library.bib`` and ``/library.ris`` (every saved paper), or
``?tag=`` (one tag). Written by ``web/citation.py``: keys made unique for BibTeX, rispy for RIS."""

from __future__ import annotations

import re
from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.responses import Response

from paperfeed.community.library import library
from paperfeed.web.auth_deps import UserDep
from paperfeed.web.citation import bibtex_many, ris
from paperfeed.web.deps import EngineDep

router = APIRouter(include_in_schema=False)

MEDIA = {
    "bib": "application/x-bibtex; charset=utf-8",
    "ris": "application/x-research-info-systems; charset=utf-8",
}


def _export(engine: EngineDep, user_pk: int, tag: str | None, kind: str) -> Response:
    papers = [entry.paper for entry in library(engine, user_pk, tag)]
    text = bibtex_many(papers) if kind == "bib" else ris(papers)
    name = re.sub(r"[^a-z0-9-]+", "-", (tag or "library").lower()).strip("-") or "library"
    headers = {"content-disposition": f'attachment; filename="{name}.{kind}"'}
    return Response(text, media_type=MEDIA[kind], headers=headers)


@router.get("/library.bib")
def library_bib(
    engine: EngineDep,
    user: UserDep,
    tag: Annotated[str | None, Query(max_length=64)] = None,
) -> Response:
    return _export(engine, user.pk, tag, "bib")


@router.get("/library.ris")
def library_ris(
    engine: EngineDep,
    user: UserDep,
    tag: Annotated[str | None, Query(max_length=64)] = None,
) -> Response:
    return _export(engine, user.pk, tag, "ris")
