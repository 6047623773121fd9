"""Jinja templates of the emails (mail/templates/*): HTML autoescaped, plain text as written.

Mail keeps its own templates and environment: the sender must not import the web app
(FastAPI, and numpy through the pages), which took 1.6 s to import.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any

import jinja2

MAIL_TEMPLATES_DIR = Path(__file__).parent / "templates"


@lru_cache(maxsize=1)
def mail_env() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(MAIL_TEMPLATES_DIR),
        # HTML parts are escaped (titles and authors come from ingest: untrusted); text is not.
        autoescape=lambda name: bool(name and name.endswith(".html")),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        auto_reload=False,
    )


def render_pair(name: str, context: dict[str, Any]) -> tuple[str, str]:
    """The text and HTML versions of ``mail/templates/<name>``."""
    env = mail_env()
    text = env.get_template(f"{name}.txt").render(context)
    html = env.get_template(f"{name}.html").render(context)
    return text, html
