"""Statements written from the models' tables (issue 20), read over many keys.

A few hot reads (the claim list's policy entries, the rosters behind a page of claims)
are written as SQL from the models' ``_meta``, every value a parameter: compiling the
ORM's queryset cost more than the reading. Their keys go in as ``IN (%s, …)`` lists,
in chunks, because SQLite limits the parameters of one statement.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from typing import Any

from django.db import connection

#: Keys one statement takes (SQLite's parameter limit is higher; a page is 50).
KEYS_PER_STATEMENT = 1000


def rows_for_keys(
    statement: Callable[[str], str],
    keys: Collection[Any],
    *,
    per: int = KEYS_PER_STATEMENT,
) -> list[tuple[Any, ...]]:
    """The rows of ``statement(marks)`` for ``keys``, ``per`` keys a statement:
    ``marks`` is the ``%s, %s, …`` list of one chunk's keys, which are the
    statement's only parameters."""
    subjects = sorted(keys)
    rows: list[tuple[Any, ...]] = []
    for at in range(0, len(subjects), per):
        chunk = subjects[at : at + per]
        with connection.cursor() as cursor:
            cursor.execute(statement(", ".join(["%s"] * len(chunk))), chunk)
            rows += cursor.fetchall()
    return rows
