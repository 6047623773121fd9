"""``/docs``: Swagger UI for the JSON API, served from our own static files.

FastAPI's default page loads Swagger UI from a CDN with an inline script, which the site's CSP
forbids; this page uses the bundled copy (swagger-ui-dist, Apache-2.0) and an external init
script. Swagger UI sets inline ``style`` attributes, so this one page allows inline styles.
"""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import HTMLResponse

from paperfeed.web.security import content_security_policy

router = APIRouter(include_in_schema=False)

_PAGE = """<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <title>paperfeed API</title>
  <link rel="icon" href="data:,">
  <link rel="stylesheet" href="/static/swagger/swagger-ui.css">
</head>
<body>
  <div id="swagger-ui"></div>
  <script src="/static/swagger/swagger-ui-bundle.js"></script>
  <script src="/static/swagger/init.js"></script>
</body>
</html>
"""

DOCS_CSP = content_security_policy(style_src="'self' 'unsafe-inline'")


@router.get("/docs", response_class=HTMLResponse)
def api_docs() -> HTMLResponse:
    return HTMLResponse(_PAGE, headers={"content-security-policy": DOCS_CSP})
