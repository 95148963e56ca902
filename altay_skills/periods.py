"""Quarters as the notice counts them (按季汇总): "2020Q1" is January to March 2020."""

from __future__ import annotations

import re
from datetime import date

QUARTER = re.compile(r"^([0-9]{4})Q([1-4])$", re.ASCII)


def quarter_bounds(quarter: str) -> tuple[date, date] | None:
    """ "2020Q1" → (2020-01-01, 2020-03-31); None when malformed."""
    match = QUARTER.match((quarter or "").strip().upper())
    if not match:
        return None
    year, q = int(match[1]), int(match[2])
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
