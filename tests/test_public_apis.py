"""No module of the apps reaches into a spreadsheet library's private parts (issue 19):
the workbooks are written through XlsxWriter's and openpyxl's public APIs only, so an
upgrade that renames a private hook cannot silently change what they write."""

from __future__ import annotations

import ast
from pathlib import Path

from django.conf import settings

import pytest

#: the spreadsheet libraries the apps use
LIBRARIES = ("openpyxl", "xlsxwriter")
#: private names the finance workbook once patched or read, and openpyxl's other style
#: tables (openpyxl 3.1); names general enough to be the project's own are left out
PRIVATE_NAMES = frozenset(
    {
        "_values_to_row",
        "style_id",
        "_style",
        "_fonts",
        "_named_styles",
        "_cell_styles",
        "_number_formats",
        "_alignments",
        "_borders",
        "_fills",
        "_protections",
        "_get_writer",
    }
)


def app_sources() -> list[Path]:
    base = Path(settings.BASE_DIR)
    folders = sorted(
        p.parent for p in base.glob("*/apps.py") if not p.parent.name.startswith(".")
    )
    folders.append(base / "altay_skills")
    return sorted({f for folder in folders for f in folder.rglob("*.py")})


def _private_module(name: str) -> bool:
    parts = name.split(".")
    return parts[0] in LIBRARIES and any(p.startswith("_") for p in parts[1:])


def private_uses(source: str) -> list[str]:
    """Each use of a private name of a spreadsheet library in ``source``: a private
    module or name imported from one, or an attribute the libraries keep private."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found += [a.name for a in node.names if _private_module(a.name)]
        elif isinstance(node, ast.ImportFrom) and node.module:
            if _private_module(node.module):
                found.append(node.module)
            elif node.module.split(".")[0] in LIBRARIES:
                found += [
                    f"{node.module}.{a.name}"
                    for a in node.names
                    if a.name.startswith("_")
                ]
        elif isinstance(node, ast.Attribute) and node.attr in PRIVATE_NAMES:
            found.append(f"line {node.lineno}: .{node.attr}")
    return found


@pytest.mark.parametrize(
    "source",
    [
        "from openpyxl.worksheet._write_only import WriteOnlyWorksheet",
        "import openpyxl.cell._writer",
        "from openpyxl.styles import _private_thing",
        "ws._values_to_row = placed",
        "x = Cell.style_id.fget(cell)",
        "wb._fonts = IndexedList([FONT])",
        "from xlsxwriter.worksheet import _escape",
    ],
)
def test_the_check_finds_a_private_use(source):
    assert private_uses(source)


def test_the_check_lets_public_uses_pass():
    source = (
        "from openpyxl import load_workbook\n"
        "from openpyxl.utils.escape import unescape\n"
        "from xlsxwriter import Workbook\n"
        "from xlsxwriter.worksheet import Worksheet\n"
        "ws.write_string(0, 0, 'x', fmt)\n"
    )
    assert private_uses(source) == []


def test_no_app_module_uses_a_private_spreadsheet_api():
    sources = app_sources()
    assert any(p.parts[-2:] == ("finance", "exports.py") for p in sources)
    uses = {
        str(p.relative_to(settings.BASE_DIR)): found
        for p in sources
        if (found := private_uses(p.read_text(encoding="utf-8")))
    }
    assert uses == {}
