"""The OpenAPI document that ``/docs`` shows: named operations, summaries that say what each
does, and the API-token security scheme (Swagger UI's Authorize button).

Operation ids are the route functions' names without the ``api_`` prefix or suffix
(``list_daily_papers``, ``upvote``), unless a route names its own; a summary not written by
the route is the first line of its docstring, not FastAPI's title-cased function name.
"""

from __future__ import annotations

import re
from typing import Any

from fastapi.routing import APIRoute

SCHEME = "apiToken"
SECURITY_SCHEME = {
    "type": "http",
    "scheme": "bearer",
    "description": "An API token from your account page (/account), sent as "
    "`Authorization: Bearer <token>`. Read-only routes need none.",
}


def operation_id(route: APIRoute) -> str:
    """``route``'s operation id: its function's name, ``api_`` prefix or suffix dropped."""
    return route.name.removeprefix("api_").removesuffix("_api")


# FastAPI's own summary: the function's name, title-cased ("For You Api").
_GENERATED = re.compile(r"[A-Z][a-z0-9]*( [A-Z][a-z0-9]*)*")


def polish(schema: dict[str, Any]) -> dict[str, Any]:
    """Summaries from docstrings, and the token scheme on every operation that answers 401."""
    for operations in schema["paths"].values():
        for operation in operations.values():
            _summarise(operation)
            if "401" in operation.get("responses", {}):
                operation["security"] = [{SCHEME: []}]
    schema.setdefault("components", {}).setdefault("securitySchemes", {})[SCHEME] = SECURITY_SCHEME
    return schema


def _summarise(operation: dict[str, Any]) -> None:
    description = str(operation.get("description") or "").strip()
    if description and _GENERATED.fullmatch(str(operation.get("summary", ""))):
        first = description.split("\n\n")[0].replace("\n", " ")
        operation["summary"] = first.rstrip(".")
