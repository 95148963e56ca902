"""What every dashboard page shares: who may look, the year asked for, the tabs."""

from __future__ import annotations

from typing import Any

from django.urls import reverse
from django.utils import timezone

from accounts.models import User
from accounts.views import AuthedRequest
from altay_skills.errors import DomainError, PermissionDenied
from quarters.budgets import MAX_YEAR, MIN_YEAR
from reporting import dashboards


# --- Who may look --------------------------------------------------------------------
def require(allowed: bool, message: str) -> None:
    if not allowed:
        raise PermissionDenied(message)


def sees_prefecture(user: User) -> bool:
    return user.is_reviewer or user.is_auditor


def sees_finance(user: User) -> bool:
    return user.is_finance or user.is_reviewer or user.is_auditor


# --- The year --------------------------------------------------------------------------
def parse_year(raw: str) -> int | None:
    """A year written in ASCII digits within the years a budget may have, else None."""
    if raw.isascii() and raw.isdigit() and MIN_YEAR <= int(raw) <= MAX_YEAR:
        return int(raw)
    return None


def year_asked(request: AuthedRequest) -> int:
    """``?year=``, else the latest year holding data in the user's scope (this year's
    page would be empty when the data is older, as the demo's 2020–2021 is)."""
    return parse_year(request.GET.get("year", "")) or dashboards.latest_year_with_data(
        request.user
    )


def year_posted(request: AuthedRequest) -> int:
    """The form's ``year``; a form without a valid one is refused."""
    year = parse_year(request.POST.get("year", ""))
    if year is None:
        raise DomainError("invalid_year", "年度无效")
    return year


# --- The frame: tabs and the context every page shares ---------------------------------
def tabs(user: User) -> list[tuple[str, str, str]]:
    """(url name, label, test id) of the dashboards this user may open."""
    found = []
    if sees_prefecture(user):
        found.append(("dashboards:prefecture", "全地区", "tab-prefecture"))
    if user.is_clerk or sees_finance(user):
        found.append(
            ("dashboards:unit", "本单位" if user.is_clerk else "单位", "tab-unit")
        )
    if sees_finance(user):
        found.append(("dashboards:finance", "资金拨付", "tab-finance"))
    if sees_prefecture(user):
        found.append(("dashboards:anomalies", "异常线索", "tab-anomalies"))
    if user.is_finance:
        found.append(("dashboards:budgets", "资金预算", "tab-budgets"))
    return found


def context(request: AuthedRequest, current: str, **extra: Any) -> dict[str, Any]:
    year = extra.get("year") or year_asked(request)
    years = sorted(set(extra.pop("years", []) or []) | {timezone.localdate().year})
    return {
        "tabs": tabs(request.user),
        "current_tab": current,
        "year": year,
        "years": years,
        "target": dashboards.annual_target(),
        "review_url": review_url(request.user, year),
        **extra,
    }


def review_url(user: User, year: int) -> str:
    if user.is_clerk and user.unit_id:
        return reverse("dashboards:review_unit", args=[year, user.unit_id])
    if sees_finance(user):
        return reverse("dashboards:review", args=[year])
    return ""
