"""The paper page's form for code and project links (``POST /papers/<id>/links``), behind the
form token like every form; the JSON twin is ``POST /api/papers/<id>/links`` (community_api).

Accepted: 303 back to the paper's links. Refused: the paper page again (400) with the reason
beside the form and the addresses as typed (on ``request.state``, as the comment form does).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response

from paperfeed.community.links import LinkError, NotAllowed, set_links
from paperfeed.web.auth_deps import SignedInFormTokenChecked, UserDep
from paperfeed.web.deps import EngineDep
from paperfeed.web.paper_page import lookup_for, paper_page
from paperfeed.web.redirects import see_other

router = APIRouter(include_in_schema=False, dependencies=[SignedInFormTokenChecked])


@router.post("/papers/{paper_id:path}/links")
def links_form(
    request: Request,
    engine: EngineDep,
    viewer: UserDep,
    paper_id: str,
    github_repo: Annotated[str, Form(max_length=2000)] = "",
    project_page: Annotated[str, Form(max_length=2000)] = "",
) -> Response:
    """Both fields as the form shows them: an empty field removes that link."""
    paper = lookup_for(engine, paper_id, viewer)
    try:
        set_links(engine, viewer, paper.pk, github=github_repo, project=project_page)
    except (LinkError, NotAllowed) as error:
        request.state.links_error = str(error)
        request.state.links_draft = {"github_repo": github_repo, "project_page": project_page}
        response = paper_page(request, engine, paper.id)
        response.status_code = 403 if isinstance(error, NotAllowed) else 400
        return response
    return see_other(f"/papers/{paper.id}#links")
