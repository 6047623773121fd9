"""Comments' Markdown, made safe: markdown-it-py with raw HTML off, then nh3 (ammonia).

Raw HTML in a comment is shown as text; the sanitiser then keeps only a small set of tags, drops
every attribute but a few, allows only absolute http(s) link
targets, and marks every link
``rel="nofollow ugc noopener"``. Images are not allowed: a comment cannot load anything.
"""

from __future__ import annotations

import nh3
from markdown_it import MarkdownIt
from markupsafe import Markup

ALLOWED_TAGS = {
    "a", "p", "br", "em", "strong", "code", "pre", "blockquote", "ul", "ol", "li", "hr",
    "h1", "h2", "h3", "h4", "h5", "h6", "del", "s", "table", "thead", "tbody", "tr", "th", "td",
}  # fmt: skip
ALLOWED_ATTRIBUTES = {"a": {"href", "title"}, "ol": {"start"}, "th": {"align"}, "td": {"align"}}
URL_SCHEMES = {"http", "https"}
LINK_REL = "nofollow ugc noopener"

_md = MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": False})
_md.enable(["table", "strikethrough"])
# markdown-it refuses javascript:, vbscript: and data: links itself; nh3 is the second line.


def _only_web_links(tag: str, attribute: str, value: str) -> str | None:
    """Drop relative and scheme-less link targets too: a comment links out over http(s) only."""
    if attribute == "href" and not value.lower().startswith(("http://", "https://")):
        return None
    return value


def render_markdown(source: str) -> Markup:
    """Safe HTML for a comment written in Markdown."""
    html = _md.render(source)
    clean = nh3.clean(
        html,
        tags=ALLOWED_TAGS,
        attributes=ALLOWED_ATTRIBUTES,
        url_schemes=URL_SCHEMES,
        link_rel=LINK_REL,
        strip_comments=True,
        attribute_filter=_only_web_links,
    )
    return Markup(clean)  # sanitised just above
