"""The README cannot go stale: its generated blocks match the code, every setting is in it."""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path
from types import ModuleType

import pytest
import typer

from paperfeed.cli import app
from paperfeed.config import setting_env_names
from tests.web import chromium

REPO = Path(__file__).resolve().parent.parent
README = REPO / "README.md"
FIX = "README.md is out of date: run `python scripts/gen_docs.py` and commit the result"


@pytest.fixture(scope="module")
def gen_docs() -> ModuleType:
    spec = importlib.util.spec_from_file_location("gen_docs", REPO / "scripts" / "gen_docs.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _block(text: str, name: str) -> str:
    match = re.search(rf"<!-- BEGIN {name} -->\n(.*?)<!-- END {name} -->", text, re.DOTALL)
    assert match, f"README.md lost its <!-- BEGIN {name} --> ... <!-- END {name} --> markers"
    return match[1]


def test_generated_blocks_match_the_code(gen_docs: ModuleType) -> None:
    readme = README.read_text(encoding="utf-8")
    for name, body in gen_docs.blocks().items():
        assert body in _block(readme, name), f"the {name} block differs. {FIX}"
    assert gen_docs.render(readme) == readme, FIX


def test_every_setting_is_documented_in_the_settings_table() -> None:
    table = _block(README.read_text(encoding="utf-8"), "settings")
    missing = [name for name in setting_env_names() if f"`{name}`" not in table]
    assert not missing, f"settings missing from the README: {missing}. {FIX}"


def test_readme_names_no_setting_that_does_not_exist() -> None:
    known = {*setting_env_names(), "PAPERFEED_CONFIG", *chromium.VARIABLES}
    named = set(re.findall(r"PAPERFEED_[A-Z_]+", README.read_text(encoding="utf-8")))
    assert named <= known, f"the README names unknown settings: {sorted(named - known)}"


def test_cli_reference_covers_every_command_and_subcommand(gen_docs: ModuleType) -> None:
    paths = list(gen_docs.command_paths(typer.main.get_command(app)))
    assert {("ingest",), ("serve",), ("stats",), ("db", "upgrade"), ("db", "reset")} <= set(paths)
    cli = _block(README.read_text(encoding="utf-8"), "cli")
    for path in paths:
        assert f"### `{' '.join(('paperfeed', *path))}`" in cli, FIX


def test_quick_start_is_the_two_commands_and_local_links_resolve() -> None:
    readme = README.read_text(encoding="utf-8")
    quick_start = readme.split("## Quick start", 1)[1].split("\n## ", 1)[0]
    assert re.findall(r"```sh\n(.*?)\n```", quick_start, re.DOTALL) == ["make run", "make test"]
    assert "\n## Network sources\n" in readme
    for target in re.findall(r"\]\(([^)#:]+)\)", readme):
        assert (REPO / target).exists(), f"README links to a missing file: {target}"
