"""``.env.example`` names every variable the code reads, with a line of meaning, and
nothing the code no longer reads (issue 19: 9 of 22 were documented nowhere, among them
``AXES_ENABLED``, which silently switches the login lockout off)."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
APPS = ["altay_skills", "accounts", "programs", "trainees", "claims", "classes"]
APPS += ["quarters", "finance", "reporting"]
READ = re.compile(
    r"""(?:\benv(?:\.\w+)?|os\.environ\.get|os\.getenv|environ\.get)\(\s*["']([A-Z][A-Z0-9_]+)["']"""
    r"""|os\.environ\[["']([A-Z][A-Z0-9_]+)["']\]"""
)
#: read by the code but not the application's configuration
NOT_CONFIGURATION = {"DJANGO_SETTINGS_MODULE"}


def variables_read() -> set[str]:
    files = [ROOT / "gunicorn.conf.py", ROOT / "manage.py"]
    for app in APPS:
        files += [p for p in (ROOT / app).rglob("*.py") if "migrations" not in p.parts]
    names = {
        m.group(1) or m.group(2) for f in files for m in READ.finditer(f.read_text())
    }
    return names - NOT_CONFIGURATION


def documented() -> dict[str, str]:
    """Each ``NAME=`` line of .env.example, with the comment just above it."""
    found: dict[str, str] = {}
    comment: list[str] = []
    for line in (ROOT / ".env.example").read_text().splitlines():
        if line.startswith("#"):
            comment.append(line)
        elif match := re.match(r"([A-Z][A-Z0-9_]+)=", line):
            found[match.group(1)] = "\n".join(comment)
        else:
            comment = []
    return found


def test_every_variable_read_is_in_the_example_with_its_meaning():
    read, example = variables_read(), documented()
    assert len(read) > 30 and "AXES_ENABLED" in read
    assert sorted(read - set(example)) == []
    assert all(example[name].strip() for name in read)


def test_the_example_names_nothing_the_code_does_not_read():
    assert sorted(set(documented()) - variables_read()) == []


def test_the_readme_and_the_operations_guide_point_to_it():
    assert ".env.example" in (ROOT / "README.md").read_text()
