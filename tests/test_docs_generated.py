"""The generated references cannot go stale: they match the code, and every setting is in them.

``docs/settings.md``, ``docs/cli.md`` and the README's table of main settings are made by
``python scripts/gen_docs.py``; these tests fail until it is run after a setting or a command
changes.
"""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path
from types import ModuleType

import pytest
import typer

from paperfeed.cli import app
from paperfeed.config import setting_env_names

REPO = Path(__file__).resolve().parent.parent
FIX = "run `python scripts/gen_docs.py` and commit the result"


@pytest.fixture(scope="module")
def gen_docs() -> ModuleType:
    spec = importlib.util.spec_from_file_location("gen_docs", REPO / "scripts" / "gen_docs.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _block(page: str, name: str) -> str:
    text = (REPO / page).read_text(encoding="utf-8")
    match = re.search(rf"<!-- BEGIN {name} -->\n(.*?)<!-- END {name} -->", text, re.DOTALL)
    assert match, f"{page} lost its <!-- BEGIN {name} --> ... <!-- END {name} --> markers"
    return match[1]


@pytest.mark.parametrize("page", ["docs/settings.md", "docs/cli.md", "README.md"])
def test_generated_blocks_match_the_code(gen_docs: ModuleType, page: str) -> None:
    for name, body in gen_docs.blocks(page).items():
        assert body in _block(page, name), f"the {name} block of {page} differs: {FIX}"
    text = (REPO / page).read_text(encoding="utf-8")
    assert gen_docs.render(page, text) == text, f"{page} is out of date: {FIX}"


def test_every_generated_page_tells_how_it_is_made(gen_docs: ModuleType) -> None:
    for page in gen_docs.PAGES:
        if page.startswith("docs/"):
            top = (REPO / page).read_text(encoding="utf-8").split("<!-- BEGIN", 1)[0]
            assert "python scripts/gen_docs.py" in top, f"{page} does not say how it is made"


def test_every_setting_is_documented_in_the_settings_reference() -> None:
    table = _block("docs/settings.md", "settings")
    missing = [name for name in setting_env_names() if f"`{name}`" not in table]
    assert not missing, f"settings missing from docs/settings.md: {missing}: {FIX}"


def test_the_readme_shows_the_main_settings(gen_docs: ModuleType) -> None:
    table = _block("README.md", "main-settings")
    for name in ("DATABASE_URL", "BASE_URL", "SMTP_URL", "SECRET_KEY", "EMBEDDING_MODEL"):
        assert f"`PAPERFEED_{name}`" in table, f"the README's main settings lack {name}: {FIX}"
    assert table.count("\n| `PAPERFEED_") == len(gen_docs.MAIN_SETTINGS)


def test_cli_reference_covers_every_command_and_subcommand(gen_docs: ModuleType) -> None:
    paths = list(gen_docs.command_paths(typer.main.get_command(app)))
    assert {("ingest",), ("serve",), ("stats",), ("db", "upgrade"), ("db", "reset")} <= set(paths)
    cli = _block("docs/cli.md", "cli")
    for path in paths:
        assert f"## `{' '.join(('paperfeed', *path))}`" in cli, FIX
    for path in paths[1:]:
        section = cli.split(f"## `{' '.join(('paperfeed', *path))}`\n", 1)[1]
        assert section.lstrip().startswith(f"```text\nUsage: paperfeed {' '.join(path)} ")


def test_a_stale_page_is_found_and_rewritten(gen_docs: ModuleType, tmp_path: Path) -> None:
    for page in gen_docs.PAGES:
        (tmp_path / page).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / page).write_text((REPO / page).read_text(encoding="utf-8"), encoding="utf-8")
    assert gen_docs.stale_pages(tmp_path) == {}
    settings = tmp_path / "docs" / "settings.md"
    text = settings.read_text(encoding="utf-8")
    settings.write_text(text.replace("| `PAPERFEED_DATABASE_URL` |", "| `X` |"), encoding="utf-8")
    assert gen_docs.stale_pages(tmp_path) == {"docs/settings.md": text}
