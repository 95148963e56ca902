"""Reads of the quarter's money: rollups, what is payable, what is to be recovered.

Every figure is an SQL aggregate.
"""

from __future__ import annotations

from decimal import Decimal

from django.db.models import Count, Prefetch, QuerySet, Sum

from accounts.models import User
from altay_skills.errors import NotFound
from claims import rules, workflow
from claims.models import Claim
from finance.models import (
    Payment,
    PaymentStatus,
    Recovery,
    Rollup,
)
from quarters.models import ReportStatus

ZERO = Decimal("0.00")


# --- Rollups ------------------------------------------------------------------------------
def rollups_visible_to(user: User) -> QuerySet[Rollup]:
    if user.is_authenticated and (
        user.is_reviewer or user.is_finance or user.is_auditor
    ):
        return Rollup.objects.all()
    return Rollup.objects.none()


def rollup_for(user: User, rollup_id: int) -> Rollup:
    try:
        return rollups_visible_to(user).get(pk=rollup_id)
    except (Rollup.DoesNotExist, ValueError, TypeError):
        raise NotFound("未找到该汇总") from None


# --- Finance lists ---------------------------------------------------------------------------
def advances_payable() -> QuerySet[Claim]:
    """Claims in a submitted report whose advance (五(二)) is not yet paid."""
    return (
        Claim.objects.filter(
            status__in=[workflow.SUBMITTED, workflow.APPROVED],
            advance__gt=0,
            report__status__in=[ReportStatus.SUBMITTED, ReportStatus.CLOSED],
        )
        .exclude(payments__kind="advance", payments__status=PaymentStatus.PAID)
        .exclude(payments__kind="balance", payments__status=PaymentStatus.PAID)
        .select_related("trainee", "institution", "unit", "program")
    )


def open_recoveries() -> QuerySet[Recovery]:
    return Recovery.objects.filter(settled_at__isnull=True).select_related(
        "claim", "claim__unit", "claim__institution", "claim__trainee"
    )


def failed_payments() -> QuerySet[Payment]:
    return Payment.objects.filter(
        status=PaymentStatus.FAILED, reissued_by__isnull=True
    ).select_related("claim", "claim__unit", "claim__trainee", "claim__institution")


def payment_summary(rollup: Rollup) -> dict[str, object]:
    """Paid against due for a rollup's claims, in SQL."""
    claims = Claim.objects.filter(
        status=workflow.APPROVED,
        report__quarter=rollup.quarter,
        report__status=ReportStatus.CLOSED,
    )
    due = claims.aggregate(total=Sum("approved_amount"), n=Count("id"))
    paid = Payment.objects.filter(
        claim__in=claims, status=PaymentStatus.PAID
    ).aggregate(total=Sum("amount"))
    due_total = rules.to_fen(Decimal(due["total"] or 0))
    paid_total = rules.to_fen(Decimal(paid["total"] or 0))
    return {
        "claims": due["n"],
        "due": due_total,
        "paid": paid_total,
        "outstanding": due_total - paid_total,
    }


# --- Pages (additive: the browser's reads of a rollup's claims) ---------------------------------
def rollup_claims_for_payment(rollup: Rollup) -> QuerySet[Claim]:
    """The claims a ready rollup pays — approved, in the quarter's closed reports — with
    what the payment lines show, and their payments prefetched (payment_state reads
    ``claim.payments.all()``), so a page of them costs a fixed number of queries."""
    return (
        Claim.objects.filter(
            status=workflow.APPROVED,
            report__quarter=rollup.quarter,
            report__status=ReportStatus.CLOSED,
        )
        .select_related("unit", "trainee", "institution", "program")
        .prefetch_related(
            Prefetch("payments", queryset=Payment.objects.order_by("recorded_at", "id"))
        )
        .order_by("unit__sort_order", "unit_id", "pk")
    )
