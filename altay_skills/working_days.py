"""Chinese working days from a maintained calendar (chinese-calendar): the public
holidays and the weekend days worked in exchange (调休) the State Council announces each
year. The package covers the years it was released for (1.11.0: 2004–2026); for a day
past them it answers Monday to Friday and says so (``covered``), and the notice keeps
that it was counted so (``PublicNotice.calendar_covered``). Upgrade the package when
the next year's schedule is published (usually in November).

Here, below every app, so that both the public notice (quarters) and the deadline of a
trainee's "not me" (claims, below quarters) count the same days; plain Python (no
Django), so the pure rules take ``is_working_day`` as an argument."""

from __future__ import annotations

from datetime import date

import chinese_calendar


def working_day(day: date) -> tuple[bool, bool]:
    """Whether ``day`` is a working day in China, and whether the calendar covered it."""
    try:
        return bool(chinese_calendar.is_workday(day)), True
    except NotImplementedError:  # a year the package has no schedule for
        return day.weekday() < 5, False


def is_working_day(day: date) -> bool:
    return working_day(day)[0]


def covered(first: date, last: date) -> bool:
    """Whether the calendar covers every year from ``first`` to ``last``."""
    return all(
        working_day(date(year, 6, 1))[1] for year in range(first.year, last.year + 1)
    )
