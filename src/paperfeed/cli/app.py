"""The Typer application, its shared console and the helpers every command uses."""

from __future__ import annotations

import re
import sys
from typing import Any

import typer
from rich.console import Console
from rich.text import Text

from paperfeed import logs, services
from paperfeed.config import ConfigError, get_settings

app = typer.Typer(
    help="paperfeed: daily papers, trending, search and digests over your own paper store.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
    rich_markup_mode=None,
)
db_app = typer.Typer(help="Database administration: migrations and reset.", no_args_is_help=True)
app.add_typer(db_app, name="db")
# Most of what the CLI prints is user or data text (paths, titles, queries): markup and emoji
# codes are off, so `[/b]` or `arxiv:cat:cs.CL` prints as written; styling goes through Text.
# Wide enough that error messages naming commands do not wrap mid-command.
console = Console(
    stderr=True, width=160 if not sys.stderr.isatty() else None, markup=False, emoji=False
)
out = Console(markup=False, emoji=False)


# C0 and C1 controls (ESC starts ANSI sequences; U+009B is a one-character CSI), DEL, and the
# bidirectional overrides that make a terminal show text in another order than it is stored.
_OTHER_CONTROLS = "\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069"
_CONTROL = re.compile(f"[\x00-\x0a{_OTHER_CONTROLS}]")
_CONTROL_BUT_NEWLINES = re.compile(f"[\x00-\x09{_OTHER_CONTROLS}]")


def shown(value: object, *, lines: bool = False) -> str:
    """Text from the store or an input file, fit for a terminal: every control character is
    written as its escape (``\\x1b``), so a title cannot recolour the terminal, move the cursor
    or hide what follows. ``lines``: keep newlines (a mail body). Rich markup needs no care
    here: the consoles print ``[bold]`` as written (``markup=False``)."""
    pattern = _CONTROL_BUT_NEWLINES if lines else _CONTROL
    return pattern.sub(_escaped, str(value))


def _escaped(match: re.Match[str]) -> str:
    return match[0].encode("unicode_escape").decode("ascii")


def styled(label: str, style: str, rest: str) -> Text:
    """``label`` in ``style``, then a space and ``rest`` as plain text (controls escaped)."""
    return Text.assemble((label, style), " ", shown(rest))


@app.callback()
def _setup() -> None:
    try:
        settings = get_settings()
    except ConfigError as error:
        raise fail(str(error), 2) from None
    logs.configure(settings.log_level)


def fail(message: str, code: int = 1) -> typer.Exit:
    """Print an error and return the Exit to raise (``raise fail(...)``)."""
    console.print(styled("error:", "bold red", message), highlight=False)
    return typer.Exit(code)


def ready_engine() -> Any:
    """The configured database, refusing (with how to fix it) when its schema is not current."""
    try:
        return services.get_ready_engine()
    except services.DatabaseNotReady as error:
        raise fail(str(error)) from None
