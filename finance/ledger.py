"""A claim's money ledger: the one place its lines are written and summed.

Every figure of a claim's money — owed, paid, advance, balance, due, failed, to recover —
is ``finance.rules.ClaimMoney`` over the sums this module takes of its
``LedgerEntry`` lines: the claim and finance pages, the API, the rollup and its workbook
all read them here, so they cannot disagree.

Lines are written only here and only under the claim's lock (the caller holds it:
``claims.services.lock_claim`` or ``altay_skills.lock_objects.lock_claim``), each with
the ``ClaimEvent`` that chains it into the claim's trail. ``ledger_follow`` runs inside
every change of a claim (``finance.receivers``): when what the claim is owed falls below
what was paid on it, the difference is opened as a recovery in that same transaction.
"""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal
from typing import Any

from django.db.models import DecimalField, Q, QuerySet, Sum, Value
from django.db.models.functions import Coalesce
from django.utils import timezone

from accounts.models import User
from altay_skills import lock_objects
from claims import workflow
from claims.audit import record_events
from claims.models import Claim, ClaimEvent
from finance import rules
from finance.models import (
    ClassAdvance,
    LedgerEntry,
    LedgerKind,
    Payment,
    PaymentKind,
    Recovery,
)
from finance.rules import ClaimMoney
from quarters.models import ReportStatus

_MONEY_FIELD = DecimalField(max_digits=14, decimal_places=2)


# --- The sums ------------------------------------------------------------------------------
def _sum(prefix: str, condition: Q) -> Coalesce:
    return Coalesce(
        Sum(f"{prefix}amount", filter=condition),
        Value(Decimal("0.00")),
        output_field=_MONEY_FIELD,
    )


#: The claim's states in which an advance is paid (``services._amount_due``).
ADVANCE_PAYABLE_STATUSES = (workflow.SUBMITTED, workflow.APPROVED)


def still_reissuable_advance(claim: str = "claim__") -> Q:
    """A failed payment waits to be paid again as itself — a balance until it is
    re-issued, an advance only while its claim (reached by ``claim``) is undecided or
    approved in a submitted report (``selectors.reissuable``, ``services._amount_due``):
    once the report is decided the balance pays what the advance left, and a failure
    counted after that read 拨付失败 on a claim paid in full, for ever; a claim
    rejected meanwhile owes nothing."""
    return Q(
        **{
            f"{claim}report__status": ReportStatus.SUBMITTED,
            f"{claim}status__in": ADVANCE_PAYABLE_STATUSES,
        }
    )


def money_sums(prefix: str = "", *, failed: bool = True) -> dict[str, Any]:
    """The sums of ``ClaimMoney``, as aggregates over ledger lines reached by
    ``prefix`` (``""`` on ``LedgerEntry`` itself, ``"ledger__"`` from a claim).
    ``failed=False`` leaves out the failures not re-issued (a join to the payments the
    rollup's totals do not need)."""

    def q(**kwargs: Any) -> Q:
        return Q(**{f"{prefix}{k}": v for k, v in kwargs.items()})

    claim = prefix.removesuffix("ledger__") if prefix else "claim__"

    sums = {
        "owed": _sum(prefix, q(kind=LedgerKind.OWED)),
        "advance_paid": _sum(prefix, q(kind=LedgerKind.PAID, part=PaymentKind.ADVANCE)),
        "balance_paid": _sum(prefix, q(kind=LedgerKind.PAID, part=PaymentKind.BALANCE)),
        "failed": _sum(
            prefix,
            q(kind=LedgerKind.FAILED, payment__reissued_by__isnull=True)
            & (q(part=PaymentKind.BALANCE) | still_reissuable_advance(claim)),
        ),
        # what is to come back: opened, less what was netted (``recovery_net``)
        "recovery": _sum(prefix, q(kind=LedgerKind.RECOVERY))
        - _sum(prefix, q(kind=LedgerKind.NETTED)),
        "recovered": _sum(prefix, q(kind=LedgerKind.RECOVERED)),
    }
    if not failed:
        del sums["failed"]
    return sums


MONEY_FIELDS = tuple(money_sums())


def money_from(row: Any) -> ClaimMoney:
    """``ClaimMoney`` from a dict of the sums, or an object annotated with them."""
    sums: dict[str, Decimal] = (
        {name: row[name] for name in MONEY_FIELDS if name in row}
        if isinstance(row, dict)
        else {name: getattr(row, name) for name in MONEY_FIELDS}
    )
    return ClaimMoney(**sums)


def money_of(claim_id: int) -> ClaimMoney:
    """One claim's figures, from its ledger as it stands (one query)."""
    return money_from(
        LedgerEntry.objects.filter(claim_id=claim_id).aggregate(**money_sums())
    )


def with_money(claims: QuerySet[Claim]) -> QuerySet[Claim]:
    """Claims annotated with their sums (read them with ``money_from(claim)``). Only
    for querysets that join no other many-valued relation (the sums would multiply)."""
    return claims.annotate(**money_sums("ledger__"))


def money_by(
    claims: QuerySet[Claim], *fields: str
) -> dict[tuple[Any, ...], ClaimMoney]:
    """The sums of ``claims``' ledgers grouped by claim ``fields`` (one query, from the
    claims: the planner keeps to the claims asked for); with no fields, their total
    under the key ``()``. Failures are not summed here (``failed`` is 0)."""
    sums = money_sums("ledger__", failed=False)
    if not fields:
        return {(): ClaimMoney(**claims.aggregate(**sums))}
    rows = claims.values(*fields).annotate(**sums).order_by()
    return {
        tuple(row[f] for f in fields): ClaimMoney(**{k: row[k] for k in sums})
        for row in rows
    }


# --- The lines -----------------------------------------------------------------------------
def ledger_append(
    claim: Claim,
    actor: User,
    kind: str,
    amount: Decimal,
    *,
    part: str = "",
    payment: Payment | None = None,
    recovery: Recovery | None = None,
    note: str = "",
) -> LedgerEntry:
    """Append one line and its chain event; the claim is locked by the caller."""
    changes = {
        "amount": f"{amount:.2f}",
        "part": part,
        "payment": payment.pk if payment else None,
        "recovery": recovery.pk if recovery else None,
    }
    (event,) = record_events(
        [
            ClaimEvent(
                claim=claim,
                actor=actor,
                action=kind,
                from_status=claim.status,
                to_status=claim.status,
                reason=note,
                changes=changes,
            )
        ]
    )
    return LedgerEntry.objects.create(
        claim=claim,
        event=event,
        kind=kind,
        part=part,
        amount=amount,
        payment=payment,
        recovery=recovery,
    )


def entry_matches_event(entry: LedgerEntry) -> bool:
    """A line as its chain event recorded it (``verify_audit``): rewriting the ledger
    table shows here, rewriting the event breaks the chain."""
    event = entry.event
    changes = event.changes or {}
    return (
        event.claim_id == entry.claim_id
        and event.action == entry.kind
        and changes.get("amount") == f"{entry.amount:.2f}"
        and changes.get("part", "") == entry.part
        and changes.get("payment") == entry.payment_id
        and changes.get("recovery") == entry.recovery_id
    )


def ledger_verify() -> tuple[int, str | None]:
    """Every line against its chain event, every money event against its line, and
    every recovery's state against its lines (``recoveries_verify``): (lines checked,
    the first mismatch described, or None)."""
    count = 0
    entries = LedgerEntry.objects.select_related("event").order_by("pk")
    for entry in entries.iterator(chunk_size=2000):
        count += 1
        if not entry_matches_event(entry):
            return count, (
                f"ledger entry #{entry.pk} (claim #{entry.claim_id}) differs from "
                f"its event #{entry.event_id}"
            )
    orphan = (
        ClaimEvent.objects.filter(
            action__in=LedgerKind.values, ledger_entry__isnull=True
        )
        .values_list("pk", "claim_id")
        .first()
    )
    if orphan is not None:
        return (
            count,
            f"event #{orphan[0]} (claim #{orphan[1]}) has lost its ledger entry",
        )
    return count, recoveries_verify()


def class_advance_changes(advance: ClassAdvance) -> dict[str, object]:
    """What a class's trail keeps of its advance (its ``advance`` event's changes):
    ``class_advances_verify`` holds the row to it."""
    return {
        "advance": advance.pk,
        "amount": f"{advance.amount:.2f}",
        "ratio": f"{advance.ratio}",
        "expected_total": f"{advance.expected_total:.2f}",
        "paid_on": advance.paid_on.isoformat(),
        "reference": advance.reference,
    }


def class_advances_verify() -> tuple[int, str | None]:
    """Every class advance (issue 16) against the ``advance`` event of its class's
    chain, and its shares against it: (advances checked, the first mismatch, or
    None). A rewritten amount, date or reference shows here; a rewritten event breaks
    the class's chain; shares that do not add up to the advance are named."""
    from classes.models import ClassEvent

    recorded = {
        (event.changes or {}).get("advance"): (event.training_class_id, event.changes)
        for event in ClassEvent.objects.filter(action="advance").only(
            "training_class_id", "changes"
        )
    }
    shares = dict(
        Payment.objects.filter(class_advance__isnull=False)
        .values("class_advance_id")
        .annotate(total=Sum("amount"))
        .values_list("class_advance_id", "total")
    )
    count = 0
    for advance in ClassAdvance.objects.order_by("pk").iterator(chunk_size=2000):
        count += 1
        where = f"培训班 #{advance.training_class_id} 的先行拨付 #{advance.pk}"
        class_id, changes = recorded.get(advance.pk, (None, None))
        if class_id != advance.training_class_id or changes != class_advance_changes(
            advance
        ):
            return count, f"{where}与其审计记录不符"
        if (
            advance.allocated_at is not None
            and shares.get(advance.pk) != advance.amount
        ):
            return count, f"{where}分摊到申报的金额合计与拨付金额不符"
    return count, None


#: Why a change leaves money to recover, by the change (the claim's action).
RECOVERY_REASONS = {
    "withdraw": "申报已撤回",
    "reject": "申报被驳回",
    "approve": "核准金额低于已先行拨付金额",
    "edit": "申报金额调低至已先行拨付金额以下",
    # the bank paid a line of a batch after its claim was rejected, withdrawn or
    # approved below it (the bank's answer is a fact: ``payment_record``)
    "paid": "银行按代发批次拨付后，申报已驳回、撤回或核准金额低于已拨付金额",
}


def ledger_follow(claim: Claim, *, action: str, actor: User, reason: str = "") -> None:
    """After a change to a locked claim: its entitlement as the change left it, and a
    recovery of whatever was paid beyond it (五(二)), in the caller's transaction."""
    money = money_of(claim.pk)
    owed = rules.owed_now(
        status=claim.status,
        amount=claim.amount,
        approved_amount=claim.approved_amount,
        owed=money.owed,
    )
    if owed != money.owed:
        ledger_append(
            claim,
            actor,
            LedgerKind.OWED,
            owed - money.owed,
            note=workflow.ACTION_LABELS.get(action, action),
        )
        money = replace(money, owed=owed)
    money = recovery_net(claim, money, actor, NETTED_REASONS.get(action, NETTED))
    why = RECOVERY_REASONS.get(action, "应付金额低于已拨付金额")
    recovery_open(claim, money, actor, f"{why}：{reason}" if reason else why)


#: Why open recoveries are netted, by the change that made the claim owed them again.
NETTED = "申报应付金额已不低于已拨付金额，无需追回"
NETTED_REASONS = {"approve": "申报重新核准，应付金额已覆盖已拨付金额，原应追回款冲抵"}


def recovery_net(
    claim: Claim, money: ClaimMoney, actor: User, reason: str
) -> ClaimMoney:
    """Cancel the claim's open recoveries it is now owed again (``rules
    .recovery_excess``), newest first, each whole, with a ``netted`` line each; the
    claim is locked by the caller, its recoveries are locked here (after the claim: the
    lock order). What is still paid beyond what is owed after that is opened again by
    ``recovery_open``, so a recovery is never chased for money the balance would pay
    straight back. Returns the figures as they now stand."""
    excess = rules.recovery_excess(money)
    if excess <= 0:
        return money
    now = timezone.now()
    for recovery in lock_objects.lock_open_recoveries(claim.pk):
        if excess <= 0:
            break
        recovery.netted_at = now
        recovery.save(update_fields=["netted_at"])
        ledger_append(
            claim,
            actor,
            LedgerKind.NETTED,
            recovery.amount,
            recovery=recovery,
            note=reason,
        )
        excess -= recovery.amount
        money = replace(money, recovery=money.recovery - recovery.amount)
    return money


def recovery_open(
    claim: Claim, money: ClaimMoney, actor: User, reason: str
) -> Recovery | None:
    """Open what ``money`` says was paid beyond what is owed, if anything."""
    amount = rules.recovery_needed(money)
    if amount <= 0:
        return None
    recovery = Recovery.objects.create(claim=claim, amount=amount, reason=reason)
    ledger_append(
        claim, actor, LedgerKind.RECOVERY, amount, recovery=recovery, note=reason
    )
    return recovery


def recovery_reopen(claim: Claim, netted: Recovery, actor: User) -> Recovery:
    """A fresh recovery of what a netted one asked back, opened because the payee
    sent that money back all the same (``recovery_settle`` settles it at once); the
    claim and the netted recovery are locked by the caller."""
    reason = f"应追回款#{netted.pk}已冲抵，收款人仍已退回"
    recovery = Recovery.objects.create(
        claim=claim, amount=netted.amount, reason=reason, reopens=netted
    )
    ledger_append(
        claim,
        actor,
        LedgerKind.RECOVERY,
        recovery.amount,
        recovery=recovery,
        note=reason,
    )
    return recovery


def recoveries_verify() -> str | None:
    """Each recovery's state against its ledger lines: settled exactly when a
    ``recovered`` line names it, netted exactly when a ``netted`` line does — a state
    written past the ledger (a recovery hidden from finance's list by setting
    ``netted_at``) is named. The first mismatch, or None (four indexed reads)."""
    for state, kind, label in (
        ("settled_at", LedgerKind.RECOVERED, "追回到账"),
        ("netted_at", LedgerKind.NETTED, "追回冲抵"),
    ):
        lined = LedgerEntry.objects.filter(kind=kind).values("recovery_id")
        unlined = (
            Recovery.objects.filter(**{f"{state}__isnull": False})
            .exclude(pk__in=lined)
            .values_list("pk", "claim_id")
            .first()
        )
        if unlined is not None:
            return (
                f"应追回款 #{unlined[0]}（申报 #{unlined[1]}）记为{label}，"
                f"资金账目中却没有{label}记录"
            )
        missing = (
            Recovery.objects.filter(**{f"{state}__isnull": True}, pk__in=lined)
            .values_list("pk", "claim_id")
            .first()
        )
        if missing is not None:
            return (
                f"应追回款 #{missing[0]}（申报 #{missing[1]}）在资金账目中有{label}记录，"
                f"本身却未记为{label}"
            )
    return None


__all__ = [
    "MONEY_FIELDS",
    "ClaimMoney",
    "class_advance_changes",
    "class_advances_verify",
    "entry_matches_event",
    "ledger_append",
    "ledger_follow",
    "ledger_verify",
    "money_by",
    "money_from",
    "money_of",
    "money_sums",
    "recoveries_verify",
    "recovery_net",
    "recovery_open",
    "recovery_reopen",
    "with_money",
]
