"""Every read of claims goes through here, with the user's unit scope applied.

A claim the user may not see is answered exactly like one that does not exist (404).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from typing import Any

from django.db.models import QuerySet

from accounts.models import User
from altay_skills.errors import NotFound
from claims import workflow
from claims.models import Claim, ClaimEvent, QuarterlyReport
from claims.rules import PriorClaim


def claims_visible_to(user: User) -> QuerySet[Claim]:
    qs = Claim.objects.select_related(
        "trainee",
        "program",
        "trade",
        "level",
        "institution",
        "employer",
        "unit",
        "created_by",
        # actions_for reads the report's status: one join, not a query per listed claim
        "report",
    )
    return unit_scoped(qs, user)


def unit_scoped(qs: QuerySet[Any], user: User) -> QuerySet[Any]:
    """The one unit scope: a clerk sees their unit's rows; the reviewer, finance and the
    auditor every unit's; anyone else (the administrator included) none."""
    if not user.is_authenticated or not user.is_active:
        return qs.none()
    if user.is_clerk:
        return qs.filter(unit_id=user.unit_id)
    if user.is_reviewer or user.is_finance or user.is_auditor:
        return qs
    return qs.none()


def claim_for(user: User, claim_id: int) -> Claim:
    try:
        return claims_visible_to(user).get(pk=claim_id)
    except (Claim.DoesNotExist, ValueError, TypeError):
        raise NotFound("未找到该申报") from None


def claim_events(user: User, claim_id: int) -> QuerySet[ClaimEvent]:
    claim = claim_for(user, claim_id)
    return claim.events.select_related("actor").order_by("at", "id")


def prior_claims_of(
    trainee_id: int, *, exclude_claim_id: int | None = None
) -> list[PriorClaim]:
    """A person's claims in every unit, as the rules see them (五(二): prefecture-wide).

    Drafts are left out: they count for nothing until submitted.
    """
    history = prior_claims_of_many([trainee_id])[trainee_id]
    return [p for p in history if p.claim_id != exclude_claim_id]


def prior_claims_of_many(trainee_ids: Sequence[int]) -> dict[int, list[PriorClaim]]:
    """``prior_claims_of`` for many people in one query (the spreadsheet import)."""
    history: dict[int, list[PriorClaim]] = defaultdict(list)
    if not trainee_ids:
        return history
    qs = (
        Claim.objects.filter(trainee_id__in=list(trainee_ids))
        .exclude(status=workflow.DRAFT)
        .select_related("unit", "trade", "level")
        .only(
            "id",
            "trainee_id",
            "program_id",
            "status",
            "training_end",
            "trade_id",
            "level_id",
            "unit__name",
            "trade__name",
            "level__name",
        )
    )
    for c in qs:
        history[c.trainee_id].append(
            PriorClaim(
                claim_id=c.pk,
                program=c.program_id,
                status=c.status,
                training_end=c.training_end,
                trade=c.trade_id,
                level=c.level_id,
                unit_name=c.unit.name,
                trade_name=c.trade.name if c.trade else "",
                level_name=c.level.name if c.level else "",
            )
        )
    return history


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
    from django.db.models import Count, Q, Sum

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


REVIEW_ACTIONS = ("approve", "reject", "return")


def actions_for(user: User, claim: Claim) -> list[str]:
    """What this user may do next with this claim: the transition table, narrowed by
    unit scope, maker-checker and where the claim stands in its quarterly report.
    The services enforce the same conditions; this only decides what to offer."""
    if not user.is_authenticated or (user.is_clerk and user.unit_id != claim.unit_id):
        return []
    actions = workflow.allowed_actions(claim.status, user.role)
    in_submitted_report = (
        claim.report_id is not None and claim.report.status == "submitted"
    )
    if claim.created_by_id == user.pk or not in_submitted_report:
        actions = [a for a in actions if a not in REVIEW_ACTIONS]
    if claim.report_id is not None and claim.report.status != "draft":
        actions = [a for a in actions if a != "withdraw"]
    return actions
