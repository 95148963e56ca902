"""五(二) 每人每年不超过3次 has one number in code, ``claims.models.LIMIT_SLOTS``: the
slots the database enforces, what refusals say — and the dated policy term the rules
judge by says the same (see ``LIMIT_SLOTS`` for why the constant, not the term, sizes
the slots)."""

from __future__ import annotations

import io
import re
import tokenize
from datetime import date
from pathlib import Path

from django.db import IntegrityError
from django.urls import reverse

import pytest

from claims import rules, services
from claims.facts import policy_terms
from claims.models import LIMIT_SLOTS
from programs.models import PolicyEntry

ROOT = Path(__file__).resolve().parents[2]
APPS = [
    "accounts",
    "programs",
    "trainees",
    "claims",
    "quarters",
    "finance",
    "reporting",
]
#: "不超过3次", "最多3次", "3次/年" … : the limit typed into a message.
TYPED_LIMIT = re.compile(r"(不超过|最多|上限)\s*3\s*次|3\s*次\s*/\s*年")


@pytest.mark.django_db
def test_the_policy_term_in_force_is_the_number_of_slots():
    # the plan's years (2019—2021): after them no term is in force until an
    # administrator enters successor terms (issue 13, 1)
    for day in (date(2019, 1, 1), date(2020, 6, 30), date(2021, 12, 31)):
        term = rules.term_in_force(policy_terms(), "annual_limit", on=day)
        assert term is not None and int(term.value) == LIMIT_SLOTS
        assert term.clause == "五(二)"
    assert rules.term_in_force(policy_terms(), "annual_limit", on=date.today()) is None


@pytest.mark.django_db
def test_every_yearly_limit_entered_is_the_number_of_slots():
    entries = PolicyEntry.objects.filter(kind="annual_limit")
    assert entries.exists()
    assert {e.quantity for e in entries} == {LIMIT_SLOTS}


@pytest.mark.django_db
def test_the_limit_year_entered_is_the_slots_calendar_year():
    # The slots' unique key holds the calendar year of the training end; a limit year
    # starting in another month would let the rules and the constraint disagree.
    entries = PolicyEntry.objects.filter(kind="limit_year_start_month")
    assert entries.exists()
    assert {e.quantity for e in entries} == {1}


def test_a_refusal_at_the_limit_says_the_number_of_the_slots(monkeypatch):
    # given the slots sized otherwise, the message follows (it is not typed)
    monkeypatch.setattr(services, "LIMIT_SLOTS", 5)
    refused = services._limit_conflict(IntegrityError("claim.limit_slot"))
    assert refused.code == "annual_limit"
    assert "不超过5次" in refused.message


#: Python 3.12 splits an f-string into tokens; 3.11 keeps it one STRING.
TEXT_TOKENS = {tokenize.STRING, getattr(tokenize, "FSTRING_MIDDLE", tokenize.STRING)}


def typed_limits(path: Path) -> list[int]:
    """The lines of a module's strings, or of a template, that type the limit."""
    text = path.read_text("utf-8")
    if path.suffix == ".html":
        strings = list(enumerate(text.splitlines(), start=1))
    else:
        strings = [
            (tok.start[0], tok.string)
            for tok in tokenize.generate_tokens(io.StringIO(text).readline)
            if tok.type in TEXT_TOKENS
        ]
    return [line for line, string in strings if TYPED_LIMIT.search(string)]


def test_no_message_types_the_limit():
    paths = [
        path
        for app in APPS
        for path in (ROOT / app).rglob("*.py")
        if "migrations" not in path.parts
    ]
    paths += (ROOT / "templates").rglob("*.html")
    found = [
        f"{path.relative_to(ROOT)}:{line}"
        for path in paths
        for line in typed_limits(path)
    ]
    assert found == []


def test_the_scanner_finds_a_typed_limit(tmp_path):
    module, page = tmp_path / "m.py", tmp_path / "p.html"
    module.write_text('OK = f"不超过{n}次"\nTYPED = "每人每年不超过3次"\n', "utf-8")
    page.write_text("<p>ok</p>\n<p>一人一年最多3次</p>\n", "utf-8")
    assert typed_limits(module) == [2]
    assert typed_limits(page) == [2]


@pytest.mark.django_db
def test_the_import_page_says_the_number_of_the_slots(client, clerk):
    client.force_login(clerk)
    page = client.get(reverse("claims_import:start")).content.decode()
    assert f"每人每年不超过{LIMIT_SLOTS}次" in page
