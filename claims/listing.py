"""The claim list without counting everything (issue 20): keyset pages and a cheap count.

The list is read newest first (``-created_at``, then ``-id`` as the tie-breaker), one
page after (or before) the last (first) row the client saw, instead of ``OFFSET``: a
deep page costs what the first one does, off the same indexes (``claim_newest_end``,
``claim_unit_newest_end``, ``claim_status_newest``). The position travels as an opaque
``cursor``. The total is taken from the claim summaries when the filters are ones they
hold (unit, program, status, quarter); otherwise it is counted up to
``EXACT_COUNT_CAP`` rows and, above, estimated (PostgreSQL's planner estimate) and
marked as such.

Old page-number links (``?page=N``) are still answered, by ``OFFSET``, up to
``OFFSET_PAGES``; a deeper one is a 400 (``page_too_deep``) in Chinese.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from django.db import connections
from django.db.models import Q, QuerySet, Sum

from accounts.models import User
from altay_skills.errors import DomainError, NotFound
from altay_skills.periods import quarter_bounds
from claims import workflow
from claims.models import Claim, ClaimSummary
from claims.selectors import read_listed

#: Claims a page holds (the API's and the page's).
PAGE_SIZE = 50
#: Old ``?page=N`` links are served by OFFSET up to this page; deeper is a 400.
OFFSET_PAGES = 10
#: Without summaries to answer, the list counts up to this many rows exactly; above,
#: the count is the planner's estimate (``count_is_estimate``).
EXACT_COUNT_CAP = 1000
#: The filters the claim summaries can answer exactly (with the user's unit scope).
SUMMARY_FILTERS = frozenset({"status", "program", "unit", "quarter"})

DEEP_PAGE_MESSAGE = (
    "页码分页只支持前 {n} 页；"
    "请从第一页起使用“下一页”“上一页”（next / previous 链接）浏览"
)
BAD_CURSOR_MESSAGE = "无效的翻页位置（cursor），请从第一页重新浏览"
BAD_PAGE_MESSAGE = "无效页面。"


@dataclass(frozen=True)
class Cursor:
    """A position in the list: the row's ``created_at`` and ``id``, and which way to
    read from it (``backward``: the page before that row)."""

    created_at: datetime
    pk: int
    backward: bool = False

    def encode(self) -> str:
        raw = json.dumps(
            ["p" if self.backward else "n", self.created_at.isoformat(), self.pk],
            separators=(",", ":"),
        )
        return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")

    @classmethod
    def decode(cls, text: str) -> Cursor:
        """The cursor a link carries; a ``DomainError`` (400) when it is not one."""
        try:
            padded = text.strip() + "=" * (-len(text.strip()) % 4)
            way, at, pk = json.loads(base64.urlsafe_b64decode(padded.encode()))
            moment = datetime.fromisoformat(at)
            if (
                way not in ("n", "p")
                or type(pk) is not int
                or not 0 <= pk < 2**63  # an id the database can compare with
                or moment.tzinfo is None
            ):
                raise ValueError(text)
        except (ValueError, TypeError, binascii.Error, UnicodeError):
            raise DomainError("invalid_cursor", BAD_CURSOR_MESSAGE) from None
        return cls(moment, pk, backward=way == "p")


@dataclass
class ListPage:
    rows: list[Claim]
    next: Cursor | None
    previous: Cursor | None
    count: int
    count_is_estimate: bool
    #: the old page number, when the page was asked for by ``?page=``
    number: int | None = None


def _after(qs: QuerySet[Claim], at: Cursor) -> QuerySet[Claim]:
    # ``created_at <= c`` is the index condition; the OR only trims the ties
    return qs.filter(created_at__lte=at.created_at).filter(
        Q(created_at__lt=at.created_at) | Q(pk__lt=at.pk)
    )


def _before(qs: QuerySet[Claim], at: Cursor) -> QuerySet[Claim]:
    return qs.filter(created_at__gte=at.created_at).filter(
        Q(created_at__gt=at.created_at) | Q(pk__gt=at.pk)
    )


def _cursor(claim: Claim, *, backward: bool) -> Cursor:
    return Cursor(claim.created_at, claim.pk, backward=backward)


def page_number(value: str | None) -> int | None:
    """The old ``?page=`` number (``last`` is no longer known): None when absent."""
    if value is None or not value.strip():
        return None
    try:
        number = int(value)
    except ValueError:
        raise DomainError("invalid_page", BAD_PAGE_MESSAGE) from None
    if number < 1:
        raise DomainError("invalid_page", BAD_PAGE_MESSAGE)
    if number > OFFSET_PAGES:
        raise DomainError("page_too_deep", DEEP_PAGE_MESSAGE.format(n=OFFSET_PAGES))
    return number


def keyset_page(
    qs: QuerySet[Claim],
    *,
    cursor: Cursor | None,
    number: int | None = None,
    size: int | None = None,
) -> tuple[list[Claim], Cursor | None, Cursor | None]:
    """One page of ``qs`` newest first, and the cursors of the pages after and before
    it (None at either end). One query, whatever the depth: the claims come with the
    rows the list names (``read_listed``)."""
    size = size or PAGE_SIZE
    newest = qs.order_by("-created_at", "-pk")
    if cursor is not None and cursor.backward:
        got = read_listed(
            _before(qs, cursor).order_by("created_at", "pk")[: size + 1],
            newest_first=False,
        )
        more_before = len(got) > size
        rows = got[:size][::-1]
        if not rows:
            return [], _cursor_from(cursor, backward=False), None
        previous = _cursor(rows[0], backward=True) if more_before else None
        return rows, _cursor(rows[-1], backward=False), previous
    if cursor is not None:
        got = read_listed(_after(newest, cursor)[: size + 1])
        more_before = True
    else:
        offset = ((number or 1) - 1) * size
        got = read_listed(newest[offset : offset + size + 1])
        more_before = offset > 0
        if offset and not got:
            raise NotFound(BAD_PAGE_MESSAGE)
    rows = got[:size]
    following = _cursor(rows[-1], backward=False) if len(got) > size else None
    if not rows:
        previous = _cursor_from(cursor, backward=True) if cursor else None
        return [], None, previous
    previous = _cursor(rows[0], backward=True) if more_before else None
    return rows, following, previous


def _cursor_from(at: Cursor, *, backward: bool) -> Cursor:
    return Cursor(at.created_at, at.pk, backward=backward)


# --- The count ---------------------------------------------------------------------------
def _active(filters: Mapping[str, Any]) -> set[str]:
    return {k for k, v in filters.items() if v not in (None, "")}


def summary_count(user: User, filters: Mapping[str, Any]) -> int | None:
    """The exact count of the list from the claim summaries, or None when the filters
    are ones they cannot answer (institution, trainee, a search). One query."""
    active = _active(filters)
    if not active <= SUMMARY_FILTERS:
        return None
    if not user.is_authenticated or not user.is_active:
        return 0
    rows = ClaimSummary.objects.exclude(status=workflow.DELETED)
    if user.is_clerk:
        rows = rows.filter(unit_id=user.unit_id)
    elif not (user.is_reviewer or user.is_finance or user.is_auditor):
        return 0
    if "unit" in active:
        rows = rows.filter(unit_id=filters["unit"])
    if "status" in active:
        rows = rows.filter(status=filters["status"])
    if "program" in active:
        rows = rows.filter(program_id=filters["program"])
    if "quarter" in active:
        bounds = quarter_bounds(str(filters["quarter"]).strip().upper())
        if bounds is None:
            return 0
        start, end = bounds
        rows = rows.filter(month__gte=start, month__lte=date(end.year, end.month, 1))
    return int(rows.aggregate(n=Sum("claims"))["n"] or 0)


def planner_estimate(qs: QuerySet[Claim]) -> int | None:
    """PostgreSQL's estimate of the rows ``qs`` returns (EXPLAIN, nothing read); None
    on another database."""
    alias = qs.db
    connection = connections[alias]
    if connection.vendor != "postgresql":
        return None
    sql, params = qs.order_by().values("pk").query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute(f"EXPLAIN (FORMAT JSON) {sql}", params)
        plan = cursor.fetchone()[0]
    if isinstance(plan, str):
        plan = json.loads(plan)
    return int(plan[0]["Plan"]["Plan Rows"])


def list_count(
    user: User, qs: QuerySet[Claim], filters: Mapping[str, Any]
) -> tuple[int, bool]:
    """The list's count and whether it is an estimate: the summaries' exact figure when
    they can answer (one query); else a count capped at ``EXACT_COUNT_CAP`` (exact
    below it) and, above the cap, the planner's estimate (at least the cap + 1), or the
    cap + 1 itself on a database without one. On PostgreSQL the estimate is asked for
    whatever the capped count finds (it reads no rows, it only plans), so the list
    sends the same queries for a person with ten claims or two thousand
    (tests/test_query_counts.py)."""
    exact = summary_count(user, filters)
    if exact is not None:
        return exact, False
    capped = qs.order_by().values("pk")[: EXACT_COUNT_CAP + 1].count()
    estimate = planner_estimate(qs)
    if capped <= EXACT_COUNT_CAP:
        return capped, False
    return max(estimate or 0, EXACT_COUNT_CAP + 1), True


def list_page(
    user: User,
    qs: QuerySet[Claim],
    filters: Mapping[str, Any],
    *,
    cursor: str | None,
    page: str | None,
    size: int | None = None,
) -> ListPage:
    """The page the request asks for (a cursor wins over an old page number), with the
    list's count."""
    at = Cursor.decode(cursor) if cursor and cursor.strip() else None
    number = None if at is not None else page_number(page)
    rows, following, previous = keyset_page(qs, cursor=at, number=number, size=size)
    count, estimated = list_count(user, qs, filters)
    return ListPage(rows, following, previous, count, estimated, number)
