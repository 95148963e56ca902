"""Reads of the quarter's money: rollups, what is payable, what is to be recovered.

Every figure is an SQL aggregate.
"""

from __future__ import annotations

from decimal import Decimal

from django.db.models import Prefetch, QuerySet

from accounts.models import User
from altay_skills.errors import NotFound
from claims import rules, workflow
from claims.models import Claim
from finance.ledger import money_by, money_sums
from finance.models import (
    Payment,
    PaymentStatus,
    Recovery,
    Rollup,
)
from finance.rules import ClaimMoney
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
    """Claims whose advance (五(二)) may be paid now: given one by the rules, in a
    report submitted to the prefecture and not yet closed, not decided against, and
    with nothing paid on them yet (the service checks the same, ``_amount_due``)."""
    return (
        Claim.objects.filter(
            status__in=[workflow.SUBMITTED, workflow.APPROVED],
            advance__gt=0,
            report__status=ReportStatus.SUBMITTED,
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
    """Owed against paid for a rollup's claims, from their ledgers (two queries)."""
    claims = Claim.objects.filter(
        status=workflow.APPROVED,
        report__quarter=rollup.quarter,
        report__status=ReportStatus.CLOSED,
    )
    money = money_by(claims).get((), ClaimMoney())
    return {
        "claims": claims.count(),
        "due": rules.to_fen(money.owed),
        "paid": rules.to_fen(money.paid - money.recovery),
        "outstanding": rules.to_fen(money.due),
        "to_recover": rules.to_fen(money.to_recover),
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
        .annotate(**money_sums("ledger__"))
        .order_by("unit__sort_order", "unit_id", "pk")
    )
