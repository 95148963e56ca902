"""Reads of the quarter's money: rollups, what is payable, what is to be recovered.

Every figure is an SQL aggregate.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import timedelta
from decimal import Decimal
from typing import Any

from django.db.models import (
    Count,
    Exists,
    OuterRef,
    Prefetch,
    Q,
    QuerySet,
    Subquery,
    Sum,
)
from django.utils import timezone

from accounts.models import User
from altay_skills.errors import NotFound
from claims import rules, workflow
from claims.confirmations import mask_name
from claims.facts import policy_terms
from claims.models import Claim
from classes import rules as class_rules
from classes.models import RosterLine, TrainingClass
from finance.ledger import (
    ADVANCE_PAYABLE_STATUSES,
    money_by,
    money_sums,
    still_reissuable_advance,
)
from finance.models import (
    AccountChangeStatus,
    BatchStatus,
    ClassAdvance,
    LedgerEntry,
    LedgerKind,
    PayeeAccountChange,
    Payment,
    PaymentBatch,
    PaymentBatchLine,
    PaymentKind,
    PaymentStatus,
    Recovery,
    Rollup,
)
from finance.rules import ClaimMoney, class_advance_amount
from programs.models import Institution, fund_label
from quarters.models import QuarterlyReport, ReportItem, ReportStatus
from quarters.selectors import claim_makers_and_checkers
from trainees.selectors import trainee_in_scope

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
    with nothing paid on them yet and no failed attempt waiting to be re-issued (the
    service checks the same, ``_amount_due``)."""
    return (
        Claim.objects.filter(
            status__in=[workflow.SUBMITTED, workflow.APPROVED],
            advance__gt=0,
            report__status=ReportStatus.SUBMITTED,
        )
        .exclude(payments__kind="advance", payments__status=PaymentStatus.PAID)
        .exclude(payments__kind="balance", payments__status=PaymentStatus.PAID)
        # a failed advance is re-issued from the failures' list (``reissue_required``)
        .exclude(
            Exists(
                Payment.objects.filter(
                    claim_id=OuterRef("pk"),
                    kind=PaymentKind.ADVANCE,
                    status=PaymentStatus.FAILED,
                    reissued_by__isnull=True,
                )
            )
        )
        .select_related("trainee", "institution", "unit", "program")
    )


def open_recoveries() -> QuerySet[Recovery]:
    """Recoveries still to chase: neither settled nor netted (``recovery_net``)."""
    return Recovery.objects.filter(
        settled_at__isnull=True, netted_at__isnull=True
    ).select_related("claim", "claim__unit", "claim__institution", "claim__trainee")


#: How long a netted recovery stays on the finance page, for money sent back anyway.
NETTED_SHOWN_DAYS = 90


def netted_recoveries() -> QuerySet[Recovery]:
    """Recoveries netted in the last ``NETTED_SHOWN_DAYS`` whose money has not been
    recorded as sent back all the same: the payee may return it before learning it
    was netted, and finance records that here (``recovery_settle``); each says whether
    the claim's balance is paid (``balance_paid``)."""
    since = timezone.now() - timedelta(days=NETTED_SHOWN_DAYS)
    return (
        Recovery.objects.filter(netted_at__gte=since, reopened_by__isnull=True)
        .select_related("claim", "claim__unit", "claim__institution", "claim__trainee")
        .annotate(
            # then money sent back is not recorded (finance.permissions
            # .can_settle_recovery): the page says so instead of offering the form
            balance_paid=Exists(
                Payment.objects.filter(
                    claim_id=OuterRef("claim_id"),
                    kind=PaymentKind.BALANCE,
                    status=PaymentStatus.PAID,
                )
            )
        )
    )


def failed_payments() -> QuerySet[Payment]:
    """Failures to pay again: not re-issued, and a balance or an advance still payable
    as itself (``ledger.still_reissuable_advance``)."""
    return Payment.objects.filter(
        Q(kind=PaymentKind.BALANCE) | still_reissuable_advance(),
        status=PaymentStatus.FAILED,
        reissued_by__isnull=True,
    ).select_related(
        "claim", "claim__unit", "claim__trainee", "claim__institution", "claim__report"
    )


def reissuable(payment: Payment) -> bool:
    """Whether a failed payment may be paid again as itself: a balance, or an advance
    while its claim is undecided or approved in a submitted report
    (``services._amount_due``; not once rejected: it owes nothing). An
    advance that failed before its report was closed is not: what it left unpaid is
    paid with the balance."""
    if payment.kind != PaymentKind.ADVANCE:
        return True
    claim = payment.claim
    report = claim.report
    return (
        report is not None
        and report.status == ReportStatus.SUBMITTED
        and claim.status in ADVANCE_PAYABLE_STATUSES
    )


def claims_of_rollup(rollup: Rollup) -> QuerySet[Claim]:
    """The claims a ready rollup pays: approved, in its quarter's reports closed by the
    time it was built — a report closed after it (``closed_after``) is not in its
    figures or workbook until the reviewer sends the quarter again."""
    claims = Claim.objects.filter(
        status=workflow.APPROVED,
        report__quarter=rollup.quarter,
        report__status=ReportStatus.CLOSED,
    )
    if rollup.finished_at is not None:
        claims = claims.filter(report__closed_at__lte=rollup.finished_at)
    return claims


def closed_after(rollup: Rollup) -> QuerySet[QuarterlyReport]:
    """The reports of the rollup's quarter closed after it was built: their claims are
    not in it (nor in the workbook finance downloaded) until it is built again."""
    if rollup.finished_at is None:
        return QuarterlyReport.objects.none()
    return QuarterlyReport.objects.filter(
        quarter=rollup.quarter,
        status=ReportStatus.CLOSED,
        closed_at__gt=rollup.finished_at,
    )


def payment_summary(rollup: Rollup) -> dict[str, object]:
    """Owed against paid for a rollup's claims, from their ledgers (two queries)."""
    claims = claims_of_rollup(rollup)
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
        claims_of_rollup(rollup)
        .select_related("unit", "trainee", "institution", "program")
        .prefetch_related(
            Prefetch("payments", queryset=Payment.objects.order_by("recorded_at", "id"))
        )
        .annotate(**money_sums("ledger__"))
        .order_by("unit__sort_order", "unit_id", "pk")
    )


# --- Training classes' advances (issue 16) -------------------------------------------------
@dataclass(frozen=True)
class ClassAdvanceDue:
    """What a class's advance would be now: the ratio in force, each live roster
    line's expected amount (its pre-check's amount; nothing where the pre-check
    refuses the person), their total and the advance."""

    ratio: Decimal
    expected: dict[int, Decimal]
    total: Decimal
    amount: Decimal
    clause: str = "五(二)"


def class_advance_due(cls: TrainingClass) -> ClassAdvanceDue | None:
    """The advance the class's roster stands for, or None when no ``advance_ratio`` is
    in force on its planned end (the policy of the training's end decides, as for a
    claim). Reads the roster's stored pre-checks (``classes.services.roster_precheck``,
    set with the roster and frozen with it at acceptance)."""
    term = rules.term_in_force(
        policy_terms(),
        "advance_ratio",
        on=cls.planned_end,
        program=cls.program_id,
        unit=cls.unit_id,
    )
    if term is None:
        return None
    expected = {
        line.trainee_id: _expected_of(line.precheck)
        for line in RosterLine.objects.filter(
            training_class_id=cls.pk, removed_at__isnull=True
        ).order_by("id")
    }
    return ClassAdvanceDue(
        ratio=term.value,
        expected=expected,
        total=sum(expected.values(), ZERO),
        amount=class_advance_amount(list(expected.values()), term.value),
        clause=term.clause,
    )


def _expected_of(precheck: dict[str, object]) -> Decimal:
    """A roster line's expected amount: what its pre-check would pay; 0 if refused,
    or if the rules give that person's training no advance (``claims.rules
    .advance_allowed``, 五(二): a provider's project-based training or an enterprise's
    own staff, never program 11 — its pre-check's ``advance`` is 0), so that the
    class's advance stands only for those who may be advanced."""
    if not precheck or not precheck.get("eligible"):
        return ZERO
    try:
        if "advance" in precheck and Decimal(str(precheck["advance"] or "0")) <= 0:
            return ZERO
        return rules.to_fen(Decimal(str(precheck.get("amount") or "0")))
    except ArithmeticError:
        return ZERO


@dataclass(frozen=True)
class ClassDue:
    training_class: TrainingClass
    due: ClassAdvanceDue | None


def classes_due_advance() -> list[ClassDue]:
    """Project-based classes accepted and started (``running``) whose advance has not
    been paid, oldest start first, each with what it would be now."""
    classes = (
        TrainingClass.objects.filter(
            project_based=True, status=class_rules.RUNNING, advance__isnull=True
        )
        .select_related("institution", "unit", "program", "trade", "level")
        .order_by("planned_start", "pk")
    )
    return [ClassDue(cls, class_advance_due(cls)) for cls in classes]


def class_advances_paid() -> QuerySet[ClassAdvance]:
    """The class advances paid, newest first."""
    return ClassAdvance.objects.select_related(
        "training_class",
        "training_class__institution",
        "training_class__unit",
        "recorded_by",
    ).order_by("-recorded_at", "-id")


# --- The bank loop's reconciliation (issue 18) -----------------------------------------------
@dataclass(frozen=True)
class ReconciliationRow:
    """One fund of a rollup, to the fen, from the ledger: what is owed, in open
    batches, paid (advance and balance, less nothing: what the bank paid), failed and
    not re-issued, still due, and to recover."""

    fund: str
    claims: int
    owed: Decimal
    in_open_batches: Decimal
    paid: Decimal
    failed: Decimal
    due: Decimal
    to_recover: Decimal
    #: the quarter's claims outside the rollup that money moved on (an advance paid on
    #: a claim since rejected or withdrawn, or one still undecided, and its recovery)
    outside: bool = False

    @property
    def is_total(self) -> bool:
        return not self.fund and not self.outside

    @property
    def label(self) -> str:
        if self.outside:
            return OUTSIDE_LABEL
        return fund_label(self.fund) if self.fund else "合计"


#: The row of money on the quarter's claims outside the rollup.
OUTSIDE_LABEL = "未纳入汇总的申报（已驳回、撤回或未审结：先行拨付与追回）"


RECONCILIATION_COLUMNS = (
    ("fund", "资金渠道"),
    ("claims", "申报笔数"),
    ("owed", "核定应付"),
    ("in_open_batches", "在途批次"),
    ("paid", "已拨付"),
    ("failed", "拨付失败未重发"),
    ("due", "尚未拨付"),
    ("to_recover", "应追回未到账"),
)


def reconciliation(rollup: Rollup) -> list[ReconciliationRow]:
    """Per fund of the rollup's claims (``claims_of_rollup``: what its workbook holds),
    a row of the quarter's other claims that money moved on (``outside``: an advance
    paid on a claim since rejected, withdrawn or not yet decided, and what is to come
    back of it — once in no row, so the total was not all the money; a claim returned
    out of its report counts in the quarter of the last report that held it), and a
    last row
    of the total: every figure an SQL sum over the ledger."""
    claims = claims_of_rollup(rollup)
    rows = _reconciliation_rows(claims, by_fund=True)
    moved = Q(pk__in=LedgerEntry.objects.values("claim_id")) | Q(
        pk__in=PaymentBatchLine.objects.filter(open=True).values("claim_id")
    )
    # a claim returned leaves its report: its money is the quarter's of the last
    # report that held it (an advance is paid only in a submitted report)
    last_quarter = (
        ReportItem.objects.filter(claim_id=OuterRef("pk"))
        .order_by("-report__submitted_at", "-report_id")
        .values("report__quarter")[:1]
    )
    left_here = (
        Claim.all_rows.filter(moved, report__isnull=True)
        .annotate(last_quarter=Subquery(last_quarter))
        .filter(last_quarter=rollup.quarter)
        .values("pk")
    )
    outside = (
        Claim.all_rows.filter(Q(report__quarter=rollup.quarter) | Q(pk__in=left_here))
        .filter(moved)
        .exclude(pk__in=claims.values("pk"))
    )
    rows += [
        replace(row, outside=True)
        for row in _reconciliation_rows(outside, by_fund=False)
        if row.claims
    ]

    def summed(name: str) -> Decimal:
        return sum((getattr(r, name) for r in rows), ZERO)

    total = ReconciliationRow(
        fund="",
        claims=sum(r.claims for r in rows),
        owed=summed("owed"),
        in_open_batches=summed("in_open_batches"),
        paid=summed("paid"),
        failed=summed("failed"),
        due=summed("due"),
        to_recover=summed("to_recover"),
    )
    return [*rows, total]


def _reconciliation_rows(
    claims: QuerySet[Claim], *, by_fund: bool
) -> list[ReconciliationRow]:
    """One row per fund of ``claims`` (``by_fund``), or one row of them all (fund
    ``""``): four queries."""
    fields = ("fund",) if by_fund else ()
    money = money_by(claims, *fields)

    def per_fund(qs: QuerySet, prefix: str, total: Any) -> dict[str, Any]:  # type: ignore[type-arg]
        if not by_fund:
            return {"": qs.aggregate(n=total)["n"]}
        return {
            fund or "": n
            for fund, n in qs.values(f"{prefix}fund")
            .annotate(n=total)
            .order_by()
            .values_list(f"{prefix}fund", "n")
        }

    counts = per_fund(claims, "", Count("id"))
    failed = per_fund(
        LedgerEntry.objects.filter(
            claim__in=claims,
            kind=LedgerKind.FAILED,
            payment__reissued_by__isnull=True,
        ).filter(Q(part=PaymentKind.BALANCE) | still_reissuable_advance()),
        "claim__",
        Sum("amount"),
    )
    in_batches = per_fund(
        PaymentBatchLine.objects.filter(claim__in=claims, open=True),
        "claim__",
        Sum("amount"),
    )
    rows = []
    for key, m in money.items():
        fund = (key[0] if key else "") or ""
        rows.append(
            ReconciliationRow(
                fund=fund,
                claims=counts.get(fund) or 0,
                owed=rules.to_fen(m.owed),
                in_open_batches=rules.to_fen(in_batches.get(fund) or ZERO),
                paid=rules.to_fen(m.paid),
                failed=rules.to_fen(failed.get(fund) or ZERO),
                due=rules.to_fen(m.due),
                to_recover=rules.to_fen(m.to_recover),
            )
        )
    return sorted(rows, key=lambda row: row.fund)


def batch_for(batch_id: int) -> PaymentBatch:
    """One payment batch (the caller checked the reader may see batches)."""
    try:
        return PaymentBatch.objects.select_related("template", "rollup").get(
            pk=batch_id
        )
    except (PaymentBatch.DoesNotExist, ValueError, TypeError):
        raise NotFound("未找到该代发批次") from None


def batch_claims_made_by(batch: PaymentBatch, user: User) -> list[int]:
    """The claims of ``batch`` that ``user`` made or decided, whatever their role is
    now (``quarters.selectors.claim_makers`` and the reviewer): who may not send the
    batch or record the bank's answer (``permissions.can_release_batch``)."""
    claims = list(Claim.objects.filter(pk__in=batch.lines.values("claim_id")))
    makers = claim_makers_and_checkers(claims)
    return sorted(
        claim.pk
        for claim in claims
        if user.pk in makers[claim.pk] or claim.reviewed_by_id == user.pk
    )


def batches() -> QuerySet[PaymentBatch]:
    """Every batch, newest first, with what its list shows."""
    return (
        PaymentBatch.objects.select_related("rollup", "template", "created_by")
        .defer("content")
        .order_by("-created_at", "-id")
    )


def institution_by_credit_code(code: str) -> Institution | None:
    """The institution or enterprise with this unified social credit code (the code an
    account change's signed request carries), or None."""
    return Institution.objects.filter(credit_code=code.strip().upper()).first()


def institution_named(pk: int) -> str | None:
    """An institution's name (public: the catalogue is published), or None."""
    return Institution.objects.filter(pk=pk).values_list("name", flat=True).first()


def trainee_named_masked(user: User, pk: int) -> str | None:
    """A registered person ``user`` may open as the account form names them: the name
    and the ID number masked (``claims.confirmations.mask_name``), or None — for one
    outside their scope too (walking ids names nobody)."""
    try:
        person = trainee_in_scope(user, pk)
    except NotFound:
        return None
    return f"{mask_name(person.name)}（{person.id_number_masked}）"


def superseded_account_changes(changes: list[PayeeAccountChange]) -> set[int]:
    """Of these changes, the proposed ones entered before a change of the same payee
    that is now in force: confirming one would put back an account the payee has
    left (``payouts.account_change_confirm`` refuses it, ``superseded``); they are
    only sent back. One query."""
    waiting = [c for c in changes if c.status == AccountChangeStatus.PROPOSED]
    if not waiting:
        return set()
    confirmed = PayeeAccountChange.objects.filter(
        Q(trainee_id__in={c.trainee_id for c in waiting if c.trainee_id})
        | Q(institution_id__in={c.institution_id for c in waiting if c.institution_id}),
        status=AccountChangeStatus.CONFIRMED,
    ).values_list("trainee_id", "institution_id", "pk")
    latest: dict[tuple[int | None, int | None], int] = {}
    for trainee_id, institution_id, pk in confirmed:
        key = (trainee_id, institution_id)
        latest[key] = max(pk, latest.get(key, 0))
    return {
        c.pk for c in waiting if latest.get((c.trainee_id, c.institution_id), 0) > c.pk
    }


def payers_of_claims(claim_ids: list[int]) -> dict[int, frozenset[int]]:
    """Who paid each claim (``claims.selectors.offer_claim_payers``): its payments'
    recorders, the recorder of the advance of the class it came from, and whoever built
    or sent to the bank a batch (not cancelled) with a line of it — the attacker review
    had the officer who released an advance file, made a reviewer, approve the claim.
    One query."""
    found: dict[int, set[int]] = {}
    in_batches = PaymentBatchLine.objects.filter(claim_id__in=claim_ids).exclude(
        batch__status=BatchStatus.CANCELLED
    )
    for claim_id, actor_id in (
        Payment.objects.filter(claim_id__in=claim_ids)
        .order_by()
        .values_list("claim_id", "recorded_by_id")
        .union(
            RosterLine.objects.filter(
                claim_id__in=claim_ids, training_class__advance__isnull=False
            )
            .order_by()
            .values_list("claim_id", "training_class__advance__recorded_by_id"),
            in_batches.order_by().values_list("claim_id", "batch__created_by_id"),
            in_batches.order_by().values_list("claim_id", "batch__sent_by_id"),
            all=True,
        )
    ):
        if claim_id is not None and actor_id is not None:
            found.setdefault(claim_id, set()).add(actor_id)
    return {pk: frozenset(actors) for pk, actors in found.items()}
