"""Every read of quarterly reports, with the user's unit scope applied.

A report the user may not see is answered exactly like one that does not exist (404).
"""

from __future__ import annotations

from django.db.models import Count, Q, QuerySet, Sum

from accounts.models import User
from altay_skills.errors import NotFound
from claims.models import Claim
from claims.selectors import unit_scoped
from quarters.models import QuarterlyReport


def reports_visible_to(user: User) -> QuerySet[QuarterlyReport]:
    return unit_scoped(QuarterlyReport.objects.select_related("unit"), user)


def report_for(user: User, report_id: int) -> QuarterlyReport:
    try:
        return reports_visible_to(user).get(pk=report_id)
    except (QuarterlyReport.DoesNotExist, ValueError, TypeError):
        raise NotFound("未找到该报表") from None


def report_figures(report: QuarterlyReport) -> list[dict[str, object]]:
    """Per fund and program: trained, passed, employed (incl. self-employed and
    flexible work), amount requested and advance — what 五(一) asks each report to show.

    A draft report shows its attached claims; a submitted one its frozen items.
    """
    if report.status == "draft":
        claims = Claim.objects.filter(report=report)
    else:
        claims = Claim.objects.filter(report_items__report=report)
    rows = (
        claims.values("fund", "program_id", "program__name")
        .annotate(
            trained=Count("id"),
            passed=Count("id", filter=Q(passed=True)),
            employed=Count("id", filter=~Q(employment="none")),
            requested=Sum("amount_requested"),
            amount=Sum("amount"),
            advance=Sum("advance"),
        )
        .order_by("fund", "program_id")
    )
    return list(rows)
