"""The quarter's rollup to finance, and what finance pays (五(一), 五(二)).

The rollup is built by a Celery task (``finance.tasks.build_rollup``) and is idempotent:
its figures are SQL aggregates over claims that can no longer change (approved, in closed
reports), the lines and the ``ready`` status are written in one transaction at the very
end, and the workbook is written to a temporary file and renamed into place. A worker
killed halfway leaves a ``running`` rollup with no lines; a rerun completes it to the
same result.
"""

from __future__ import annotations

import hashlib
import io
import json
import logging
import os
import re
import zipfile
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import TypedDict

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Count, Q, QuerySet
from django.utils import timezone

from accounts.models import User
from altay_skills import lock_objects
from altay_skills.errors import Conflict, DomainError, NotFound
from altay_skills.periods import QUARTER_MESSAGE, quarter_bounds
from altay_skills.permissions import Permission, require
from altay_skills.plain_text import checked_reason
from altay_skills.record_ids import is_ascii_number, record_id
from claims import rules, workflow
from claims.confirmations import disputed_claim_ids
from claims.models import Claim
from classes import rules as class_rules
from classes.events import class_event_record
from classes.models import RosterLine, TrainingClass
from classes.selectors import class_makers
from finance import exports
from finance.ledger import (
    ADVANCE_PAYABLE_STATUSES,
    MONEY_FIELDS,
    class_advance_changes,
    ledger_append,
    ledger_follow,
    money_by,
    money_from,
    money_of,
    recovery_net,
    recovery_open,
    recovery_reopen,
    with_money,
)
from finance.models import (
    ClassAdvance,
    LedgerKind,
    Payment,
    PaymentBatchLine,
    PaymentKind,
    PaymentStatus,
    Recovery,
    Rollup,
    RollupLine,
    RollupStatus,
)
from finance.permissions import (
    can_pay_class_advance,
    can_record_payment,
    can_request_rollup,
    can_settle_recovery,
)
from finance.rules import (
    UNDECIDED,
    ClaimMoney,
    advance_shares,
    owed_with_advance,
    payment_date_refusal,
    payment_state_of,
    share_owed,
)
from finance.selectors import class_advance_due, closed_after
from programs.models import fund_label
from quarters.models import ReportStatus, SpotCheck
from quarters.permissions import balances_after_notice
from trainees.id_numbers import mask_id_number

logger = logging.getLogger(__name__)
ZERO = Decimal("0.00")
PAYEE_LABELS = {
    "institution": "培训机构/企业",
    "trainee": "培训人员",
    "family": "学生家庭",
}


#: The registered name of ``finance.tasks.build_rollup`` (kept from before issue 11, so
#: messages already queued still find it): services queue the task by name and never
#: import the tasks module, which sits above them.
BUILD_ROLLUP_TASK = "reporting.tasks.build_rollup"


# --- Request ---------------------------------------------------------------------------
def rollup_request(*, quarter: str, actor: User) -> Rollup:
    """The reviewer sends a reviewed quarter to finance; the task is queued on commit."""
    require(can_request_rollup(actor))
    if quarter_bounds(quarter) is None:
        raise DomainError("invalid_quarter", QUARTER_MESSAGE)
    quarter = quarter.strip().upper()
    require(can_request_rollup(actor, quarter))  # every report closed, one at least
    with transaction.atomic():
        rollup, _ = lock_objects.lock_rollup_of_quarter(
            quarter, defaults={"requested_by": actor}
        )
        if rollup.status == RollupStatus.FAILED or (
            rollup.status == RollupStatus.READY and closed_after(rollup).exists()
        ):
            # failed: run again; ready, but a unit's report of the quarter was closed
            # after it was built (a late report): built again, with it — the same
            # rollup, its lines and workbook replaced, what was paid kept in the ledger
            rollup.status, rollup.error, rollup.progress = RollupStatus.QUEUED, "", 0
            rollup.save(update_fields=["status", "error", "progress"])
        if rollup.status != RollupStatus.READY:
            transaction.on_commit(lambda: _enqueue(rollup.pk))
    return rollup


def _enqueue(rollup_id: int) -> None:
    """Queue without ever failing or holding up the request (a bounded publish, see
    altay_skills.outbox): if the broker is down the rollup stays queued for the sweep."""
    from altay_skills.outbox import send

    if send(BUILD_ROLLUP_TASK, {"rollup_id": rollup_id}):
        logger.warning("rollup %s: broker unavailable, left queued", rollup_id)


# --- Build (the task's body) ----------------------------------------------------------------
def rollup_build(*, rollup_id: int) -> Rollup:
    try:
        rollup = Rollup.objects.get(pk=rollup_id)
    except Rollup.DoesNotExist:
        raise NotFound("未找到该汇总") from None
    if rollup.status == RollupStatus.READY:
        return rollup  # idempotent: built once, never again
    Rollup.objects.filter(pk=rollup.pk).update(
        status=RollupStatus.RUNNING,
        started_at=timezone.now(),
        progress=5,
        attempts=rollup.attempts + 1,
        error="",
    )
    try:
        return _build(rollup)
    except Exception as exc:
        Rollup.objects.filter(pk=rollup.pk).exclude(status=RollupStatus.READY).update(
            status=RollupStatus.FAILED, error=f"{type(exc).__name__}: {exc}"[:2000]
        )
        raise


def rollup_claims(quarter: str) -> QuerySet[Claim]:
    """The claims a quarter's rollup pays: approved, in the quarter's closed reports."""
    return Claim.objects.filter(
        status=workflow.APPROVED,
        report__quarter=quarter,
        report__status=ReportStatus.CLOSED,
    )


class RollupFigure(TypedDict):
    """One unit × program × fund of a quarter's rollup."""

    unit: str
    program: int
    fund: str
    trained: int
    passed: int
    employed: int
    approved: Decimal
    advance: Decimal
    balance: Decimal
    recovery: Decimal


def rollup_figures(quarter: str) -> list[RollupFigure]:
    """unit × program × fund, summed by the database: the counts over the claims, the
    money over their ledgers (``finance.ledger``), two queries."""
    claims = rollup_claims(quarter)
    rows = (
        claims.values("unit_id", "program_id", "fund")
        .annotate(
            trained=Count("id"),
            passed=Count("id", filter=Q(passed=True)),
            employed=Count("id", filter=~Q(employment="none")),
        )
        .order_by("unit_id", "program_id", "fund")
    )
    money = money_by(claims, "unit_id", "program_id", "fund")
    figures: list[RollupFigure] = []
    for row in rows:
        m = money.get((row["unit_id"], row["program_id"], row["fund"]), ClaimMoney())
        figures.append(
            {
                "unit": row["unit_id"],
                "program": row["program_id"],
                "fund": row["fund"] or "",
                "trained": row["trained"],
                "passed": row["passed"],
                "employed": row["employed"],
                "approved": rules.to_fen(m.owed),
                "advance": rules.to_fen(m.advance),
                "balance": rules.to_fen(m.balance),
                "recovery": rules.to_fen(m.recovery),
            }
        )
    return figures


def checksum_of(figures: Sequence[RollupFigure]) -> str:
    canonical = json.dumps(figures, sort_keys=True, default=str, ensure_ascii=False)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def totals_of(figures: Sequence[RollupFigure]) -> dict[str, object]:
    def money(values: Iterator[Decimal]) -> str:
        return str(rules.to_fen(sum(values, ZERO)))

    return {
        "trained": sum(f["trained"] for f in figures),
        "passed": sum(f["passed"] for f in figures),
        "employed": sum(f["employed"] for f in figures),
        "approved": money(f["approved"] for f in figures),
        "advance": money(f["advance"] for f in figures),
        "balance": money(f["balance"] for f in figures),
        "recovery": money(f["recovery"] for f in figures),
        "lines": len(figures),
    }


def _build(rollup: Rollup) -> Rollup:
    figures = rollup_figures(rollup.quarter)
    checksum = checksum_of(figures)
    _progress(rollup, 30)
    path = workbook_path(rollup, checksum)
    write_workbook(
        rollup, figures, checksum, path, progress=lambda p: _progress(rollup, p)
    )
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    _progress(rollup, 90)
    with transaction.atomic():
        locked = lock_objects.lock_rollup(rollup.pk)
        if locked.status == RollupStatus.READY:
            return locked  # another run finished first with the same figures
        # built again (a late report, ``rollup_request``): the lines are replaced
        RollupLine.objects.filter(rollup_id=locked.pk).delete()
        RollupLine.objects.bulk_create(rollup_lines(locked.pk, figures))
        locked.status = RollupStatus.READY
        locked.checksum = checksum
        locked.totals = totals_of(figures)
        locked.workbook = str(path.relative_to(Path(settings.MEDIA_ROOT)))
        locked.workbook_sha256 = digest
        locked.progress = 100
        locked.finished_at = timezone.now()
        locked.save()
    return locked


def rollup_lines(rollup_id: int, figures: Sequence[RollupFigure]) -> list[RollupLine]:
    """The stored lines of a rollup's figures (one per unit × program × fund)."""
    return [
        RollupLine(
            rollup_id=rollup_id,
            unit_id=f["unit"],
            program_id=f["program"],
            fund=f["fund"],
            trained=f["trained"],
            passed=f["passed"],
            employed=f["employed"],
            approved=f["approved"],
            advance=f["advance"],
            balance=f["balance"],
            recovery=f.get("recovery", ZERO),
        )
        for f in figures
    ]


def _progress(rollup: Rollup, percent: int) -> None:
    Rollup.objects.filter(pk=rollup.pk, status=RollupStatus.RUNNING).update(
        progress=percent
    )


def workbook_path(rollup: Rollup, checksum: str) -> Path:
    folder = Path(settings.MEDIA_ROOT) / "rollups"
    folder.mkdir(parents=True, exist_ok=True)
    return folder / f"{rollup.quarter}-{checksum[:16]}.xlsx"


# --- The workbook -------------------------------------------------------------------------
def write_workbook(
    rollup: Rollup,
    figures: Sequence[RollupFigure],
    checksum: str,
    path: Path,
    *,
    progress: Callable[[int], None] | None = None,
) -> None:
    """Write to a temporary file, then rename: a reader never sees half a workbook.

    A writer killed halfway leaves its ``<name>.<pid>.partial``; the next run removes
    those whose process is gone. The bytes depend on the figures alone (see
    :func:`_pinned`), so a rerun writes the very file a clean run writes.
    """
    book = finance_workbook(rollup, figures, checksum)
    _remove_orphaned_partials(path)
    temporary = path.with_suffix(f".{os.getpid()}.partial")
    try:
        buffer = io.BytesIO()
        exports.write_finance_workbook(book, buffer)
        temporary.write_bytes(_pinned(buffer.getvalue(), rollup.requested_at))
        os.replace(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)
    if progress:
        progress(80)


def _remove_orphaned_partials(path: Path) -> None:
    for partial in path.parent.glob(f"{path.stem}.*.partial"):
        pid = partial.suffixes[-2].lstrip(".")
        if is_ascii_number(pid) and not Path(f"/proc/{pid}").exists():
            partial.unlink(missing_ok=True)


def _pinned(workbook: bytes, when: datetime) -> bytes:
    """The workbook with its clock readings set to the rollup's request time: the
    writer stamps the document's created and modified times (and may stamp each zip
    entry) with the moment of saving, which would give every run a different digest."""
    stamp = timezone.localtime(when).replace(microsecond=0)
    iso = stamp.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ").encode()
    out = io.BytesIO()
    with (
        zipfile.ZipFile(io.BytesIO(workbook)) as source,
        zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target,
    ):
        for item in source.infolist():
            data = source.read(item)
            if item.filename == "docProps/core.xml":
                data = re.sub(
                    rb"(<dcterms:(?:created|modified)[^>]*>)[^<]*",
                    rb"\g<1>" + iso,
                    data,
                )
            entry = zipfile.ZipInfo(item.filename, date_time=stamp.timetuple()[:6])
            entry.compress_type = zipfile.ZIP_DEFLATED
            entry.external_attr = item.external_attr
            target.writestr(entry, data)
    return out.getvalue()


def finance_workbook(
    rollup: Rollup, figures: Sequence[RollupFigure], checksum: str
) -> exports.FinanceWorkbook:
    from programs.models import Unit

    units = dict(Unit.objects.values_list("code", "name"))
    counts: dict[tuple[str, str], list[int]] = {}  # trained, passed, employed
    sums: dict[tuple[str, str], list[Decimal]] = {}  # approved … recovery
    for f in figures:
        key = (str(f["unit"]), str(f["fund"]))
        c = counts.setdefault(key, [0, 0, 0])
        c[0] += f["trained"]
        c[1] += f["passed"]
        c[2] += f["employed"]
        m = sums.setdefault(key, [ZERO, ZERO, ZERO, ZERO])
        m[0] += f["approved"]
        m[1] += f["advance"]
        m[2] += f["balance"]
        m[3] += f["recovery"]
    summary_rows = [
        exports.SummaryRow(
            unit_code=unit,
            unit_name=units.get(unit, unit),
            fund_label=fund_label(fund),
            trained=c[0],
            passed=c[1],
            employed=c[2],
            approved=sums[(unit, fund)][0],
            advance=sums[(unit, fund)][1],
            balance=sums[(unit, fund)][2],
            recovery=sums[(unit, fund)][3],
        )
        for (unit, fund), c in sorted(counts.items())
    ]
    funds = sorted({str(f["fund"]) for f in figures})
    return exports.FinanceWorkbook(
        title="阿勒泰地区职业技能提升行动补贴资金拨付表",
        quarter=rollup.quarter,
        generated_at=timezone.localtime(rollup.requested_at).strftime("%Y-%m-%d %H:%M"),
        checksum=checksum[:16],
        summary=summary_rows,
        funds=[
            exports.FundSheet(fund, fund_label(fund), _lines(rollup.quarter, fund))
            for fund in funds
        ],
        spot_checks=_spot_lines(rollup.quarter),
    )


LINE_FIELDS = (
    "pk",
    "unit__name",
    "payee",
    "trainee__name",
    "trainee__id_number",
    "institution__name",
    "institution__credit_code",
    "program_id",
    "program__name",
    "trade__name",
    "level__name",
    "training_end",
    *MONEY_FIELDS,
)


def _lines(quarter: str, fund: str) -> Iterator[exports.DisbursementLine]:
    """The fund's lines streamed as plain rows over the joins (no six model instances
    per claim), in chunks, so 100,000 of them take the memory of one chunk."""
    rows = (
        with_money(rollup_claims(quarter).filter(fund=fund))
        .order_by("unit_id", "pk")
        .values_list(*LINE_FIELDS)
    )
    line, labels, mask = exports.DisbursementLine, PAYEE_LABELS, mask_id_number
    for (
        pk,
        unit_name,
        payee,
        trainee_name,
        id_number,
        institution_name,
        credit_code,
        program_id,
        program_name,
        trade_name,
        level_name,
        training_end,
        *sums,
    ) in rows.iterator(chunk_size=2000):
        individual = payee != "institution"
        money = ClaimMoney(*sums)
        yield line(
            claim_id=pk,
            unit_name=unit_name,
            payee_kind=labels.get(payee, payee),
            payee_name=trainee_name if individual else institution_name,
            id_number_masked=mask(id_number) if individual else "",
            institution_name=institution_name,
            credit_code=credit_code,
            program=f"{program_id} {program_name}",
            trade=trade_name or "",
            level=level_name or "",
            training_end=training_end.isoformat(),
            amount=money.owed,
            advance=money.advance,
            balance=money.balance,
            recovery=money.recovery,
        )


def _spot_lines(quarter: str) -> Iterator[exports.SpotCheckLine]:
    checks = (
        SpotCheck.objects.filter(
            report__quarter=quarter, report__status=ReportStatus.CLOSED
        )
        .select_related(
            "report", "report__unit", "claim", "claim__trainee", "claim__program"
        )
        .order_by("report__unit_id", "claim_id")
    )
    for s in checks:
        yield exports.SpotCheckLine(
            unit_name=s.report.unit.name,
            claim_id=s.claim_id,
            trainee_name=s.claim.trainee.name,
            id_number_masked=s.claim.trainee.id_number_masked,
            program=f"{s.claim.program_id} {s.claim.program.name}",
            amount=s.claim.amount,
            status=workflow.STATUS_LABELS.get(s.claim.status, s.claim.status),
            seed=f"{s.report.spot_check_seed}（{s.get_result_display()}）",
        )


# --- Payments ---------------------------------------------------------------------------------
#: What a payment recorded as failed must say: why the bank did not pay.
FAILURE_REASON = "拨付失败须填写原因"


def payment_record(
    *,
    claim_id: int,
    kind: str,
    amount: Decimal,
    paid_on: date,
    status: str,
    actor: User,
    reference: str = "",
    failure_reason: str = "",
    reissue_of_id: int | None = None,
    batch_line_id: int | None = None,
) -> Payment:
    """Finance records a payment or a failed attempt, and its ledger line (and, for an
    advance paid, the entitlement it stands for). Nothing is ever paid twice, and only
    what the ledger says is due. A payment in an open bank batch (issue 18) is the
    bank's to make: only that batch's result (``batch_line_id``, its line) records it;
    by hand it is refused until the batch is settled or cancelled."""
    require(can_record_payment(actor))
    if kind not in PaymentKind.values or status not in PaymentStatus.values:
        raise DomainError("invalid", "拨付类别或结果无效")
    if amount is None or amount <= 0 or amount != rules.to_fen(amount):
        raise DomainError("invalid_amount", "拨付金额应为大于0、最多两位小数的数")
    if paid_on > timezone.localdate():  # before any lock: the claim cannot change it
        raise DomainError("invalid_dates", "拨付日期不能晚于今天")
    failure_reason = (failure_reason or "").strip()
    if status == PaymentStatus.FAILED and not failure_reason:
        raise DomainError("reason_required", FAILURE_REASON)
    if status == PaymentStatus.FAILED and batch_line_id is None:
        # typed by a person, it says something; a bank's result keeps its own code
        # ("3001" is the bank's word for it, checked by ``payouts``)
        failure_reason = checked_reason(failure_reason, missing=FAILURE_REASON)
    try:
        with transaction.atomic():
            claim = lock_objects.lock_claim(claim_id)
            require(can_record_payment(actor, claim))
            refusal = payment_date_refusal(
                paid_on, training_end=claim.training_end, today=timezone.localdate()
            )
            if refusal:
                raise DomainError("invalid_dates", refusal)
            # while a line of the claim is at the bank — of either kind: an advance
            # in flight is not yet in the ledger, so a balance by hand would pay
            # the whole approved amount beside it — nothing else is paid on it
            # (the bank's own answer to a line is a fact, recorded beside any other)
            in_batch = (
                PaymentBatchLine.objects.filter(claim_id=claim.pk, open=True)
                .values_list("batch_id", flat=True)
                .first()
                if batch_line_id is None
                else None
            )
            if in_batch is not None:
                raise Conflict(
                    "in_open_batch",
                    f"该申报有款项已列入代发批次#{in_batch}，由银行代发：请登记该批次的"
                    "银行回盘，或先作废尚未报送银行的批次，不能另行登记拨付",
                )
            money = money_of(claim.pk)
            if batch_line_id is None:
                due = _amount_due(claim, kind, money)
                if amount != due:
                    raise DomainError(
                        "amount_mismatch",
                        f"应拨金额为{rules.yuan(due)}元，登记金额不一致",
                    )
                rollup = _rollup_of(claim, kind)
            else:
                # the bank's answer to a line of a batch sent to it: a fact, recorded
                # whatever befell the claim since the batch was built (a "not me", a
                # rejection); ``ledger_follow`` below opens what is now owed back
                rollup = _bank_line_rollup(batch_line_id, claim.pk, kind, amount)
            reissue = None
            if reissue_of_id is not None:
                reissue = next(
                    (
                        p
                        for p in lock_objects.lock_payments_of(claim.pk)
                        if p.pk == reissue_of_id
                        and p.kind == kind
                        and p.status == PaymentStatus.FAILED
                    ),
                    None,
                )
                if reissue is None:
                    raise DomainError(
                        "invalid_reference", "只能重新拨付本笔款项失败的记录"
                    )
            else:
                # a failed attempt is re-issued, not recorded beside: a second failure
                # counted the money failed twice, and a payment beside it left the
                # failure on finance's list to re-issue (and pay) once more
                waiting = (
                    Payment.objects.filter(
                        claim_id=claim.pk,
                        kind=kind,
                        status=PaymentStatus.FAILED,
                        reissued_by__isnull=True,
                    )
                    .values_list("pk", flat=True)
                    .first()
                )
                if waiting is not None:
                    raise Conflict(
                        "reissue_required",
                        f"该笔款项已有拨付失败记录#{waiting}：请在该记录上登记重新拨付"
                        "，不能另行登记",
                    )
            payment = Payment.objects.create(
                claim=claim,
                rollup=rollup,
                kind=kind,
                amount=amount,
                status=status,
                paid_on=paid_on,
                reference=(reference or "").strip(),
                failure_reason=failure_reason,
                reissue_of=reissue,
                recorded_by=actor,
            )
            _paid_on_claim(claim, payment)
            _ledger_payment(claim, payment, money, actor)
            # what was paid beyond what the claim is owed now (a bank's line answered
            # after a rejection; an advance above an approval) comes back
            ledger_follow(claim, action="paid", actor=actor)
            return payment
    except Claim.DoesNotExist:
        raise NotFound("未找到该申报") from None
    except IntegrityError as exc:
        # PostgreSQL names the constraint, SQLite the columns.
        if any(
            k in str(exc) for k in ("payment_never_twice", "claim_id", "reissue_of")
        ):
            raise Conflict(
                "already_paid", "该笔款项已拨付或已重新拨付，不能重复"
            ) from None
        raise


def _bank_line_rollup(
    line_id: int, claim_id: int, kind: str, amount: Decimal
) -> Rollup:
    """The rollup of the open batch line the bank answered, checked against what is
    recorded: its claim, its kind, its amount (``payouts`` matched the file to it)."""
    line = (
        PaymentBatchLine.objects.select_related("batch__rollup")
        .filter(pk=line_id, claim_id=claim_id, kind=kind, open=True)
        .first()
    )
    if line is None:
        raise Conflict("line_closed", "代发批次明细不存在或已登记回盘")
    if amount != line.amount:
        raise DomainError(
            "amount_mismatch",
            f"批次明细金额为{rules.yuan(line.amount)}元，登记金额不一致",
        )
    rollup: Rollup = line.batch.rollup
    return rollup


def _paid_on_claim(claim: Claim, payment: Payment) -> None:
    """A payment made: the claim (locked) carries it in ``paid``, and its summary row
    with it (``Claim.save``), in the payment's transaction — what the dashboards show
    as paid (issue 20). A failed attempt pays nothing."""
    if payment.status != PaymentStatus.PAID:
        return
    claim.paid += payment.amount
    claim.save(update_fields=["paid"])


def _ledger_payment(
    claim: Claim, payment: Payment, money: ClaimMoney, actor: User
) -> None:
    note = payment.reference or payment.failure_reason
    if payment.status == PaymentStatus.FAILED:
        ledger_append(
            claim,
            actor,
            LedgerKind.FAILED,
            payment.amount,
            part=payment.kind,
            payment=payment,
            note=note,
        )
        return
    if payment.kind == PaymentKind.ADVANCE and claim.status in UNDECIDED:
        entitled = owed_with_advance(money, payment.amount)
        if entitled > 0:  # the advance paid is owed until the claim is decided
            ledger_append(
                claim, actor, LedgerKind.OWED, entitled, note="先行拨付（五(二)）"
            )
    ledger_append(
        claim,
        actor,
        LedgerKind.PAID,
        payment.amount,
        part=payment.kind,
        payment=payment,
        note=note,
    )


@dataclass(frozen=True)
class BalanceHolds:
    """What holds each claim's balance besides its money, read for many claims at
    once (a bank batch): a trainee's "not me" (``dispute_refusals``) and the public
    notice (``quarters.permissions.balances_after_notice``)."""

    disputes: dict[int, DomainError]
    notices: dict[int, Permission]


def balance_holds(claims: list[Claim]) -> BalanceHolds:
    """``BalanceHolds`` of ``claims``: five queries whatever their number."""
    return BalanceHolds(
        dispute_refusals(claims),
        balances_after_notice(claims, timezone.localdate()),
    )


def _amount_due(
    claim: Claim, kind: str, money: ClaimMoney, holds: BalanceHolds | None = None
) -> Decimal:
    """Advance: the claim's advance (40% at most, 五(二)), payable while the claim is
    undecided or approved in a report that has been submitted and is not yet closed,
    and only if the rules gave it one; balance: what the ledger says is still due
    once the claim is approved (approved less the advance that stands). ``holds``:
    read already for many claims (``balance_holds``), else read for this one."""
    if kind == PaymentKind.ADVANCE:
        if claim.advance <= 0:
            raise DomainError("no_advance", "该申报不属于可先行拨付的培训")
        if money.balance_paid > 0:
            raise Conflict("already_paid", "余额已拨付，不能再先行拨付")
        if money.advance_paid > 0:
            raise Conflict("already_paid", "先行拨付已拨付，不能重复拨付")
        report = claim.report
        if (
            claim.status not in ADVANCE_PAYABLE_STATUSES
            or report is None
            or report.status != ReportStatus.SUBMITTED
        ):
            raise Conflict(
                "not_payable",
                "申报须在已报送、尚未审结的季度报表中方可先行拨付"
                "（草稿报表中的申报不能先行拨付）",
            )
        return claim.advance
    if claim.status != workflow.APPROVED or claim.approved_amount is None:
        raise Conflict("not_payable", "申报核准后方可拨付余额")
    if holds is None:
        holds = balance_holds([claim])
    held = holds.disputes.get(claim.pk)
    if held is not None:
        raise held
    # the public notice (公示, issue 17): closed, and no objection open or upheld
    require(holds.notices[claim.pk])
    if money.due <= 0 and money.balance_paid > 0:
        raise Conflict("already_paid", "该申报余额已拨付，不能重复拨付")
    if money.due <= 0:
        raise Conflict(
            "nothing_due",
            "该申报已无应拨余额（先行拨付已抵足核准金额，多拨部分应追回）",
        )
    return money.due


def trainee_dispute_refusal(claim: Claim) -> DomainError | None:
    """409 ``trainee_disputed`` while the claim's trainee, or anyone on the roster of
    the class that created it, said "not me" and no finding released it (issue 17)."""
    return dispute_refusals([claim]).get(claim.pk)


def dispute_refusals(claims: list[Claim]) -> dict[int, DomainError]:
    """``trainee_dispute_refusal`` of each of ``claims`` held, in three queries."""
    ids = [claim.pk for claim in claims]
    class_of = dict(
        RosterLine.objects.filter(claim_id__in=ids).values_list(
            "claim_id", "training_class_id"
        )
    )
    mates: dict[int, list[int]] = {}
    for class_id, mate in RosterLine.objects.filter(
        training_class_id__in=set(class_of.values()), claim__isnull=False
    ).values_list("training_class_id", "claim_id"):
        mates.setdefault(class_id, []).append(mate)
    disputed = disputed_claim_ids(
        sorted(set(ids).union(*mates.values()) if mates else set(ids))
    )
    refusals: dict[int, DomainError] = {}
    for claim_id in ids:
        if claim_id in disputed:
            refusals[claim_id] = Conflict(
                "trainee_disputed",
                "培训人员本人表示未参加此培训（或其确认码因多次核对失败被锁定），"
                "申诉核查结论录入前不能拨付余额",
            )
        elif claim_id in class_of and disputed.intersection(
            mates.get(class_of[claim_id], ())
        ):
            refusals[claim_id] = Conflict(
                "trainee_disputed",
                "同一培训班有培训人员表示未参加培训，申诉核查结论录入前暂停拨付该班其余款项",
            )
    return refusals


def _rollup_of(claim: Claim, kind: str) -> Rollup | None:
    report = claim.report  # None without a query when the claim has none
    if report is None:
        return None
    rollup = Rollup.objects.filter(quarter=report.quarter).first()
    if kind == PaymentKind.BALANCE and (
        rollup is None or rollup.status != RollupStatus.READY
    ):
        raise Conflict("not_payable", "该季度汇总尚未生成，不能拨付余额")
    if (
        kind == PaymentKind.BALANCE
        and rollup is not None
        and rollup.finished_at is not None
        and report.closed_at is not None
        and report.closed_at > rollup.finished_at
    ):
        raise Conflict(
            "not_in_rollup",
            f"该申报所在报表在{rollup.quarter}季度汇总生成后才审结，不在财政已下载的"
            "汇总表中：请地区审核人重新报送该季度汇总（汇总将重新生成）后再拨付余额",
        )
    return rollup


def recovery_settle(*, recovery_id: int, actor: User, reference: str = "") -> Recovery:
    """Finance records that a recovery came back; the bank's reference is required."""
    require(can_settle_recovery(actor))
    reference = (reference or "").strip()
    claim_id = (
        Recovery.objects.filter(pk=recovery_id)
        .values_list("claim_id", flat=True)
        .first()
        if record_id(recovery_id) is not None
        else None
    )
    if claim_id is None:
        raise NotFound("未找到该应追回款")
    with transaction.atomic():
        claim = lock_objects.lock_claim(claim_id)  # the claim, then its recovery
        recovery = lock_objects.lock_recovery(recovery_id)
        if recovery is None:
            raise NotFound("未找到该应追回款")
        require(can_settle_recovery(actor, recovery))  # not settled yet
        if not reference:
            raise DomainError("reference_required", "登记追回须填写追回凭证号")
        if len(reference) > 60:
            raise DomainError("invalid_reference", "追回凭证号最多60个字符")
        reopened = recovery.netted_at is not None
        if reopened:
            # netted, yet the payee sent it back: the money came back all the same —
            # a fresh recovery of it, settled below, so the claim is owed it again
            # and the balance pays it out (never lost, never chased twice)
            recovery = recovery_reopen(claim, recovery, actor)
        recovery.settled_at = timezone.now()
        recovery.settled_by = actor
        recovery.settlement_reference = reference
        recovery.save()
        ledger_append(
            claim,
            actor,
            LedgerKind.RECOVERED,
            recovery.amount,
            recovery=recovery,
            note=reference,
        )
        if reopened:
            # what came back may cover what is still open on the claim (a recovery
            # opened for the part the approval did not net): that is netted now,
            # rather than chased while the balance pays the same money out
            # (netted whole, newest first: what that nets beyond the money sent back
            # is opened afresh, as after any change — ``ledger_follow``)
            money = recovery_net(claim, money_of(claim.pk), actor, RETURNED_ANYWAY_NETS)
            recovery_open(claim, money, actor, "应付金额低于已拨付金额")
    return recovery


#: Why money sent back for a netted recovery nets the claim's other open recoveries.
RETURNED_ANYWAY_NETS = "收款人已退回已冲抵的款项，已覆盖其余应追回款，冲抵"


def payment_state(claim: Claim) -> str:
    """paid · partly_paid · failed · unpaid · recovering · recovered (``rules``), from
    the claim's ledger: its annotated sums when the caller read them
    (``ledger.with_money``), one query otherwise."""
    money = money_from(claim) if hasattr(claim, "owed") else money_of(claim.pk)
    return payment_state_of(money, approved=claim.status == workflow.APPROVED)


def requeue_stuck_rollups(*, older_than_seconds: int | None = None) -> int:
    """Queued or running rollups untouched for ``ROLLUP_REQUEUE_SECONDS`` are queued
    again (idempotent)."""
    if older_than_seconds is None:
        older_than_seconds = settings.ROLLUP_REQUEUE_SECONDS
    cutoff = timezone.now() - timedelta(seconds=older_than_seconds)
    stuck = Rollup.objects.filter(
        status__in=[RollupStatus.QUEUED, RollupStatus.RUNNING], requested_at__lt=cutoff
    ).filter(Q(started_at__isnull=True) | Q(started_at__lt=cutoff))
    count = 0
    for rollup in stuck:
        _enqueue(rollup.pk)
        count += 1
    return count


# --- A training class's advance (五(二), issue 16) -----------------------------------------
def class_advance_refusal(cls: TrainingClass) -> DomainError | None:
    """Why the class's advance cannot be paid now, or None: a project-based class,
    accepted and started (``running``), not paid yet."""
    if not cls.project_based:
        return Conflict(
            "not_project_based",
            "非项目制培训班不先行拨付（五(二)：培训机构开展项目制培训的，可先行拨付40%）",
        )
    if ClassAdvance.objects.filter(training_class_id=cls.pk).exists():
        return Conflict("already_paid", "该培训班的先行拨付已拨付，不能重复拨付")
    if cls.status != class_rules.RUNNING:
        label = class_rules.STATUS_LABELS.get(cls.status, cls.status)
        return Conflict(
            "class_not_running",
            f"培训班须已备案并已开班方可先行拨付（当前状态：{label}）",
        )
    return None


def class_advance_pay(
    *,
    class_id: int,
    actor: User,
    paid_on: date | None = None,
    reference: str = "",
    amount: Decimal | None = None,
) -> ClassAdvance:
    """Finance pays a project-based class's advance to its institution (五(二)): once
    the class is accepted and has started, the ratio in force of the roster's expected
    total, once. One transaction: the class locked (``lock_objects`` 3a, nothing else),
    the advance row and the class's ``advance`` event. ``amount``, when given, must be
    the amount due (what the page showed)."""
    require(can_record_payment(actor))
    today = timezone.localdate()
    paid_on = paid_on or today
    if paid_on > today:
        raise DomainError("invalid_dates", "拨付日期不能晚于今天")
    reference = (reference or "").strip()
    if len(reference) > 60:
        raise DomainError("invalid_reference", "凭证号最多60个字符")
    try:
        with transaction.atomic():
            cls = lock_objects.lock_training_class(class_id)
            if cls is None:
                raise NotFound("未找到该培训班")
            require(can_pay_class_advance(actor, cls, makers=class_makers(cls)))
            refusal = class_advance_refusal(cls)
            if refusal is not None:
                raise refusal
            started = timezone.localdate(cls.started_at) if cls.started_at else None
            if started is not None and paid_on < started:
                raise DomainError(
                    "invalid_dates",
                    f"拨付日期不能早于开班日期（{started.isoformat()}）",
                )
            due = class_advance_due(cls)
            if due is None:
                raise Conflict(
                    "not_payable", "培训结束日期没有生效的先行拨付比例，不能先行拨付"
                )
            if due.amount <= 0:
                raise Conflict(
                    "nothing_due",
                    "培训班名单中没有预审可获补贴且可先行拨付的人员（五(二)：企业开展"
                    "培训或培训机构开展项目制培训的可先行拨付，三(三)11不先行拨付），"
                    "没有可先行拨付的金额",
                )
            if amount is not None and amount != due.amount:
                raise DomainError(
                    "amount_mismatch",
                    f"应拨金额为{rules.yuan(due.amount)}元，登记金额不一致",
                )
            advance = ClassAdvance.objects.create(
                training_class=cls,
                ratio=due.ratio,
                expected_total=due.total,
                amount=due.amount,
                expected={str(k): f"{v:.2f}" for k, v in due.expected.items()},
                paid_on=paid_on,
                reference=reference,
                recorded_by=actor,
            )
            class_event_record(
                training_class=cls,
                actor=actor,
                action="advance",
                from_status=cls.status,
                changes=class_advance_changes(advance),
            )
            return advance
    except IntegrityError as exc:
        if "training_class" in str(exc) or "classadvance" in str(exc).lower():
            raise Conflict(
                "already_paid", "该培训班的先行拨付已拨付，不能重复拨付"
            ) from None
        raise


def class_advance_allocate(
    *, training_class: TrainingClass, claims: list[Claim], actor: User
) -> list[Payment]:
    """At a class's completion (``finance.receivers``, inside its transaction, the
    class and its people locked): its advance split over the claims created, in
    proportion to what each person was expected to get when it was paid
    (``finance.rules.advance_shares``: to the fen, exactly the advance in all). Each
    claim carries its share as an advance payment in its ledger, owed as long as the
    claim may be paid it (``share_owed``); the rest — a person who did not complete, a
    claim the rules refuse or one below its share — is opened as a recovery at once."""
    advance = (
        ClassAdvance.objects.filter(training_class_id=training_class.pk)
        .select_related("recorded_by")
        .first()
    )
    if advance is None or advance.allocated_at is not None or not claims:
        return []
    lock_objects.lock_claim_ids([c.pk for c in claims])  # 6, after the class's people
    shares = advance_shares(
        advance.amount,
        [(c.pk, Decimal(advance.expected.get(str(c.trainee_id), "0"))) for c in claims],
    )
    reference = advance.reference or f"培训班#{training_class.pk}先行拨付"
    note = f"培训班#{training_class.pk}先行拨付分摊（五(二)）"
    payments = []
    for claim in claims:
        share = shares[claim.pk]
        if share <= 0:
            continue
        payment = Payment.objects.create(
            claim=claim,
            kind=PaymentKind.ADVANCE,
            amount=share,
            status=PaymentStatus.PAID,
            paid_on=advance.paid_on,
            reference=reference,
            class_advance=advance,
            recorded_by=advance.recorded_by,
        )
        _paid_on_claim(claim, payment)
        owed = share_owed(share, eligible=claim.eligible, amount=claim.amount)
        if owed > 0:
            ledger_append(claim, actor, LedgerKind.OWED, owed, note=note)
        ledger_append(
            claim,
            actor,
            LedgerKind.PAID,
            share,
            part=PaymentKind.ADVANCE,
            payment=payment,
            note=note,
        )
        recovery_open(claim, money_of(claim.pk), actor, _share_recovery_reason(claim))
        payments.append(payment)
    advance.allocated_at = timezone.now()
    advance.save(update_fields=["allocated_at"])
    return payments


def _share_recovery_reason(claim: Claim) -> str:
    if not claim.eligible:
        codes = "、".join(v.get("message", "") for v in claim.violations[:2])
        return f"培训班结业生成的申报不符合补贴条件，分摊的先行拨付应追回：{codes}"
    return "培训班结业生成的申报金额低于分摊的先行拨付，差额应追回"
