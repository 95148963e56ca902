"""The layering contracts of pyproject.toml (issue 11) hold, and they do catch a reverse
import: a copy of the tree in which an earlier stage imports a later one is refused."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = (
    "altay_skills",
    "accounts",
    "programs",
    "trainees",
    "claims",
    "classes",
    "quarters",
    "finance",
    "reporting",
)
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")

pytestmark = pytest.mark.skipif(
    not LINT_IMPORTS.exists(), reason="import-linter is installed by make venv-dev"
)


def lint_imports(tree: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(tree)}
    return subprocess.run(
        [str(LINT_IMPORTS), "--no-cache", str(tree / "pyproject.toml")],
        cwd=tree,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def copy_of_the_tree(target: Path) -> Path:
    shutil.copy(ROOT / "pyproject.toml", target / "pyproject.toml")
    for package in PACKAGES:
        shutil.copytree(
            ROOT / package,
            target / package,
            ignore=shutil.ignore_patterns("__pycache__", "migrations"),
        )
    return target


def test_the_tree_keeps_every_layering_contract():
    result = lint_imports(ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


@pytest.mark.parametrize(
    ("module", "line", "broken"),
    [
        # an earlier stage reaching into a later one
        ("claims/services.py", "from finance import services as _f", "stage"),
        ("quarters/selectors.py", "import reporting.dashboards", "stage"),
        # a model reaching up into its app's services
        ("finance/models.py", "import finance.services", "Inside an app"),
        # the pure rules importing Django
        ("claims/rules.py", "import django.db", "plain Python"),
    ],
)
def test_a_reverse_import_is_refused(tmp_path, module, line, broken):
    tree = copy_of_the_tree(tmp_path)
    path = tree / module
    path.write_text(path.read_text() + f"\n{line}  # noqa\n")
    result = lint_imports(tree)
    assert result.returncode != 0
    assert "BROKEN" in result.stdout
    assert broken in result.stdout.split("Broken contracts")[-1]
