"""Every read of quarterly reports, with the user's unit scope applied.

A report the user may not see is answered exactly like one that does not exist (404).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from django.db.models import Count, Q, QuerySet, Sum

from accounts.models import User
from altay_skills.errors import NotFound
from claims.models import Claim
from claims.selectors import unit_scoped
from quarters.models import QuarterlyReport, ReportItem, ReportStatus, SpotCheck


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


@dataclass(frozen=True)
class ReportClaim:
    """A claim of a report with the amounts the report holds for it, and its spot
    check when one was drawn."""

    claim: Claim
    amount: Decimal
    advance: Decimal
    check: SpotCheck | None
    #: Still attached to the report: a claim returned to the clerk leaves it, while a
    #: submitted report keeps its frozen line.
    in_report: bool


def report_claims(report: QuarterlyReport) -> list[ReportClaim]:
    """A draft's attached claims with their amounts now, or a submitted report's
    frozen list with the amounts it was submitted with (五(一)); with the sample. The
    report page and the report API both show these (two queries)."""
    checks = {
        c.claim_id: c
        for c in SpotCheck.objects.filter(report=report).select_related("checked_by")
    }
    related = ("trainee", "program", "trade", "level", "institution")
    if report.status in (ReportStatus.DRAFT, ReportStatus.DISCARDED):
        frozen = [
            (c, c.amount, c.advance)
            for c in Claim.objects.filter(report=report)
            .select_related(*related)
            .order_by("pk")
        ]
    else:
        frozen = [
            (item.claim, item.amount, item.advance)
            for item in ReportItem.objects.filter(report=report)
            .select_related(*(f"claim__{name}" for name in related))
            .order_by("claim_id")
        ]
    return [
        ReportClaim(
            claim=claim,
            amount=amount,
            advance=advance,
            check=checks.get(claim.pk),
            in_report=claim.report_id == report.pk,
        )
        for claim, amount, advance in frozen
    ]
