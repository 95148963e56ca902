"""Typed ids are ASCII digits (``altay_skills.record_ids``): ``"²".isdigit()`` is true
and ``int("²")`` raises — five pages and one API answered 500 — and ``int("٤١")``
reads Arabic-Indic digits as person 41. The reviews found them by hand; this finds the
next one by reading the source."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from altay_skills.record_ids import record_id
from tests.test_layering import PACKAGES

ROOT = Path(__file__).resolve().parent.parent
ISDIGIT = re.compile(r"\.isdigit\(\)")


def test_no_app_code_asks_isdigit_of_text_alone() -> None:
    loose = []
    for package in PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            if "migrations" in path.parts:
                continue
            for number, line in enumerate(path.read_text("utf-8").splitlines(), 1):
                code = line.split("#", 1)[0]
                if ISDIGIT.search(code) and "isascii" not in code and "``" not in code:
                    loose.append(f"{path.relative_to(ROOT)}:{number}: {line.strip()}")
    assert not loose, "\n".join(loose)


@pytest.mark.parametrize(
    ("value", "found"),
    [
        ("41", 41),
        (" 7 ", 7),
        ("²", None),
        ("٤١", None),
        ("４１", None),
        ("", None),
        (None, None),
        ("1" * 19, None),
        ("-3", None),
        ("1.5", None),
    ],
)
def test_a_record_id_is_ascii_digits(value: Any, found: int | None) -> None:
    assert record_id(value) == found
