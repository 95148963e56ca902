"""A record's id as a form, a query string or a multipart field gives it: ASCII digits
only. ``"²".isdigit()`` is true and ``int("²")`` raises (a 500 on five pages and one
API), and ``int("٤١")`` reads Arabic-Indic digits as person 41 — so no app code asks
``isdigit()`` of typed text alone (``tests/test_record_ids.py``)."""

from __future__ import annotations

#: The most digits an id may have: a PostgreSQL ``bigint`` is below 2**63.
MAX_DIGITS = 18


def is_ascii_number(text: str) -> bool:
    """Only the digits 0–9, at least one."""
    return text.isascii() and text.isdigit()


def record_id(value: object, *, digits: int = MAX_DIGITS) -> int | None:
    """The id ``value`` names — a whole number of at most ``digits`` ASCII digits,
    spaces around it ignored — or None."""
    text = "" if value is None else str(value).strip()
    if is_ascii_number(text) and len(text) <= digits:
        return int(text)
    return None
