"""Quarters as the notice counts them (按季汇总): "2020Q1" is January to March 2020.

The one validation of a quarter: every list, page, body and service asks
``quarter_bounds``, and a quarter it does not know (malformed, or a year outside
``FIRST_YEAR``–``LAST_YEAR``) is None there, answered 400 with ``QUARTER_MESSAGE``.
The years are bounded so that a typo (``9999Q4``, ``0001Q1``) is refused rather than
computed: ``date`` stops at year 9999, and no quarter before the notice (2019) holds
anything to report.
"""

from __future__ import annotations

import re
from datetime import date

QUARTER = re.compile(r"^([0-9]{4})Q([1-4])$", re.ASCII)
#: 阿行办发〔2019〕50号 dates from 2019; 2100 is far enough ahead for any plan.
FIRST_YEAR = 2019
LAST_YEAR = 2100
QUARTER_MESSAGE = (
    f"季度格式应为“2020Q1”（季度为1–4，年份在{FIRST_YEAR}至{LAST_YEAR}之间）"
)


def quarter_bounds(quarter: str) -> tuple[date, date] | None:
    """ "2020Q1" → (2020-01-01, 2020-03-31); None when malformed or out of range."""
    match = QUARTER.match((quarter or "").strip().upper())
    if not match:
        return None
    year, q = int(match[1]), int(match[2])
    if not FIRST_YEAR <= year <= LAST_YEAR:
        return None
    start = date(year, 3 * q - 2, 1)
    after = date(year + (q == 4), (3 * q) % 12 + 1, 1)
    return start, date.fromordinal(after.toordinal() - 1)


def quarter_of(day: date) -> str:
    return f"{day.year}Q{(day.month - 1) // 3 + 1}"


def previous_quarter(quarter: str) -> str:
    bounds = quarter_bounds(quarter)
    if bounds is None:
        raise ValueError(quarter)
    return quarter_of(date.fromordinal(bounds[0].toordinal() - 1))


def next_quarter(quarter: str) -> str:
    bounds = quarter_bounds(quarter)
    if bounds is None:
        raise ValueError(quarter)
    return quarter_of(date.fromordinal(bounds[1].toordinal() + 1))


def current_quarter() -> tuple[str, tuple[date, date]]:
    """Today's quarter and its first and last day (Asia/Shanghai)."""
    from django.utils import timezone

    label = quarter_of(timezone.localdate())
    bounds = quarter_bounds(label)
    assert bounds is not None
    return label, bounds
