"""Imports point down the flow, never up, and no modules import each other in a circle.

The contracts live in pyproject.toml (``[tool.importlinter]``); ``lint-imports`` checks them on
the package under test, counting imports inside functions as much as those at the top. The
other tests plant a violation in a copy of the package and see the check fail, so that the
contracts cannot quietly stop checking anything.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import paperfeed

REPO = Path(__file__).resolve().parent.parent
PACKAGE = Path(paperfeed.__file__).resolve().parent
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")


def lint_imports(source_root: Path) -> subprocess.CompletedProcess[str]:
    """``lint-imports`` over the ``paperfeed`` found in ``source_root``."""
    env = {**os.environ, "PYTHONPATH": str(source_root), "NO_COLOR": "1", "COLUMNS": "200"}
    return subprocess.run(
        [str(LINT_IMPORTS), "--config", str(REPO / "pyproject.toml"), "--no-cache"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )


def test_no_upward_imports_and_no_cycles() -> None:
    run = lint_imports(PACKAGE.parent)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "Contracts: 2 kept, 0 broken." in run.stdout


@pytest.fixture
def package_copy(tmp_path: Path) -> Path:
    """The package's Python files (its models and data are not needed to read imports)."""
    shutil.copytree(
        PACKAGE,
        tmp_path / "paperfeed",
        ignore=lambda folder, names: [n for n in names if not _is_source(Path(folder) / n)],
    )
    return tmp_path


def _is_source(path: Path) -> bool:
    return path.suffix == ".py" or (path.is_dir() and path.name != "__pycache__")


def _plant(path: Path, code: str) -> None:
    before = path.read_text(encoding="utf-8") if path.exists() else ""
    path.write_text(before + code, encoding="utf-8")


LAYERS_BROKEN = "Layers: imports point down the flow BROKEN"
CYCLES_BROKEN = "No cycles between sibling modules or packages BROKEN"


PLANTED = {
    "store imports web, inside a function": (
        "store/engine.py",
        "\n\ndef _planted() -> None:\n    from paperfeed.web import app  # noqa\n",
        LAYERS_BROKEN,
    ),
    "mail imports web": (
        "mail/render.py",
        "\nimport paperfeed.web.templating  # noqa\n",
        LAYERS_BROKEN,
    ),
    "a backend imports its planner": (
        "search/lexical_sql.py",
        "\nimport paperfeed.search.lexical  # noqa\n",
        CYCLES_BROKEN,
    ),
    # exhaustive: a new top-level module must be given a layer
    "a top-level module without a layer": (
        "newcomer.py",
        '"""New."""\n',
        "not listed as layers:\n\n- paperfeed.newcomer",
    ),
}


@pytest.mark.parametrize("name", PLANTED)
def test_a_planted_violation_fails_the_check(package_copy: Path, name: str) -> None:
    module, code, verdict = PLANTED[name]
    _plant(package_copy / "paperfeed" / module, code)
    run = lint_imports(package_copy)
    assert run.returncode != 0, run.stdout
    assert verdict in run.stdout + run.stderr
