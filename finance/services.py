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
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Count, Q, QuerySet, Sum
from django.utils import timezone

from accounts.models import User
from altay_skills import lock_objects
from altay_skills.errors import Conflict, DomainError, NotFound
from altay_skills.periods import quarter_bounds
from altay_skills.permissions import require
from claims import rules, workflow
from claims.models import Claim
from finance import exports
from finance.models import (
    Payment,
    PaymentKind,
    PaymentStatus,
    Recovery,
    Rollup,
    RollupLine,
    RollupStatus,
)
from finance.permissions import (
    can_record_payment,
    can_request_rollup,
    can_settle_recovery,
)
from programs.models import fund_label
from quarters.models import ReportStatus, SpotCheck
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
        raise DomainError("invalid_quarter", "季度格式应为“2020Q1”")
    quarter = quarter.strip().upper()
    require(can_request_rollup(actor, quarter))  # every report closed, one at least
    with transaction.atomic():
        rollup, _ = lock_objects.lock_rollup_of_quarter(
            quarter, defaults={"requested_by": actor}
        )
        if rollup.status == RollupStatus.FAILED:
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


def rollup_figures(quarter: str) -> list[dict[str, object]]:
    """unit × program × fund, summed by the database."""
    rows = (
        rollup_claims(quarter)
        .values("unit_id", "program_id", "fund")
        .annotate(
            trained=Count("id"),
            passed=Count("id", filter=Q(passed=True)),
            employed=Count("id", filter=~Q(employment="none")),
            approved=Sum("approved_amount"),
            advance=Sum("advance"),
        )
        .order_by("unit_id", "program_id", "fund")
    )
    figures = []
    for row in rows:
        approved = rules.to_fen(Decimal(row["approved"] or 0))
        advance = rules.to_fen(Decimal(row["advance"] or 0))
        figures.append(
            {
                "unit": row["unit_id"],
                "program": row["program_id"],
                "fund": row["fund"] or "",
                "trained": row["trained"],
                "passed": row["passed"],
                "employed": row["employed"],
                "approved": approved,
                "advance": advance,
                "balance": approved - advance,
            }
        )
    return figures


def checksum_of(figures: list[dict[str, object]]) -> str:
    canonical = json.dumps(figures, sort_keys=True, default=str, ensure_ascii=False)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def totals_of(figures: list[dict[str, object]]) -> dict[str, object]:
    def total(key: str) -> object:
        values = [f[key] for f in figures]
        if key in ("trained", "passed", "employed"):
            return sum(values)  # type: ignore[arg-type]
        return str(rules.to_fen(sum(values, ZERO)))  # type: ignore[arg-type]

    keys = ("trained", "passed", "employed", "approved", "advance", "balance")
    return {key: total(key) for key in keys} | {"lines": len(figures)}


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


def rollup_lines(rollup_id: int, figures: list[dict[str, object]]) -> list[RollupLine]:
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
    figures: list[dict[str, object]],
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
        if pid.isdigit() and not Path(f"/proc/{pid}").exists():
            partial.unlink(missing_ok=True)


def _pinned(workbook: bytes, when: datetime) -> bytes:
    """The workbook with its clock readings set to the rollup's request time: openpyxl
    stamps each zip entry and the document's modified time with the moment of saving,
    which would give every run a different digest."""
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
    rollup: Rollup, figures: list[dict[str, object]], checksum: str
) -> exports.FinanceWorkbook:
    from programs.models import Unit

    units = dict(Unit.objects.values_list("code", "name"))
    summary: dict[tuple[str, str], list[object]] = {}
    for f in figures:
        key = (str(f["unit"]), str(f["fund"]))
        row = summary.setdefault(key, [0, 0, 0, ZERO, ZERO, ZERO])
        for i, name in enumerate(
            ("trained", "passed", "employed", "approved", "advance", "balance")
        ):
            row[i] += f[name]  # type: ignore[operator]
    summary_rows = [
        exports.SummaryRow(
            unit_code=unit,
            unit_name=units.get(unit, unit),
            fund_label=fund_label(fund),
            trained=v[0],
            passed=v[1],
            employed=v[2],
            approved=v[3],
            advance=v[4],
            balance=v[5],
        )
        for (unit, fund), v in sorted(summary.items())
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
    "approved_amount",
    "advance",
)


def _lines(quarter: str, fund: str) -> Iterator[exports.DisbursementLine]:
    """The fund's lines streamed as plain rows over the joins (no six model instances
    per claim), in chunks, so 100,000 of them take the memory of one chunk."""
    rows = (
        rollup_claims(quarter)
        .filter(fund=fund)
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
        amount,
        advance,
    ) in rows.iterator(chunk_size=2000):
        individual = payee != "institution"
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
            amount=amount,
            advance=advance,
            balance=amount - advance,
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
) -> Payment:
    """Finance records a payment or a failed attempt. Nothing is ever paid twice."""
    require(can_record_payment(actor))
    if kind not in PaymentKind.values or status not in PaymentStatus.values:
        raise DomainError("invalid", "拨付类别或结果无效")
    if amount is None or amount <= 0 or amount != rules.to_fen(amount):
        raise DomainError("invalid_amount", "拨付金额应为大于0、最多两位小数的数")
    if paid_on > timezone.localdate():
        raise DomainError("invalid_dates", "拨付日期不能晚于今天")
    failure_reason = (failure_reason or "").strip()
    if status == PaymentStatus.FAILED and not failure_reason:
        raise DomainError("reason_required", "拨付失败须填写原因")
    try:
        with transaction.atomic():
            claim = lock_objects.lock_claim(claim_id)
            due = _amount_due(claim, kind)
            if amount != due:
                raise DomainError(
                    "amount_mismatch", f"应拨金额为{rules.yuan(due)}元，登记金额不一致"
                )
            rollup = _rollup_of(claim, kind)
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
            return Payment.objects.create(
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


def _amount_due(claim: Claim, kind: str) -> Decimal:
    """Advance: the claim's advance (40% at most, 五(二)), payable once it is submitted
    into a report; balance: the approved amount less any advance paid."""
    if kind == PaymentKind.ADVANCE:
        if claim.advance <= 0:
            raise DomainError("no_advance", "该申报不属于可先行拨付的培训")
        if claim.payments.filter(
            kind=PaymentKind.BALANCE, status=PaymentStatus.PAID
        ).exists():
            raise Conflict("already_paid", "余额已拨付，不能再先行拨付")
        if (
            claim.status not in (workflow.SUBMITTED, workflow.APPROVED)
            or claim.report_id is None
        ):
            raise Conflict("not_payable", "申报须已列入报送的季度报表方可先行拨付")
        return claim.advance
    if claim.status != workflow.APPROVED or claim.approved_amount is None:
        raise Conflict("not_payable", "申报核准后方可拨付余额")
    paid_advance = (
        claim.payments.filter(
            kind=PaymentKind.ADVANCE, status=PaymentStatus.PAID
        ).aggregate(total=Sum("amount"))["total"]
        or ZERO
    )
    return balance_due(claim.approved_amount, paid_advance)


def balance_due(approved_amount: Decimal, paid_advance: Decimal) -> Decimal:
    """五(二): the balance of a claim is its approved amount less the advance already
    paid on it. The rollup page offers it (``finance.views.payment_row``) and
    ``payment_record`` checks it, from this one definition."""
    return rules.to_fen(approved_amount - paid_advance)


def _rollup_of(claim: Claim, kind: str) -> Rollup | None:
    if claim.report_id is None:
        return None
    rollup = Rollup.objects.filter(quarter=claim.report.quarter).first()
    if kind == PaymentKind.BALANCE and (
        rollup is None or rollup.status != RollupStatus.READY
    ):
        raise Conflict("not_payable", "该季度汇总尚未生成，不能拨付余额")
    return rollup


def recovery_for_rejection(*, claim: Claim, reason: str) -> Recovery | None:
    """An advance paid on a claim now rejected becomes an amount to recover."""
    paid = claim.payments.filter(
        kind=PaymentKind.ADVANCE, status=PaymentStatus.PAID
    ).aggregate(total=Sum("amount"))["total"]
    if not paid:
        return None
    recovery, _ = Recovery.objects.get_or_create(
        claim=claim, defaults={"amount": paid, "reason": reason or "申报被驳回"}
    )
    return recovery


def recovery_settle(*, recovery_id: int, actor: User, reference: str = "") -> Recovery:
    require(can_settle_recovery(actor))
    with transaction.atomic():
        recovery = lock_objects.lock_recovery(recovery_id)
        if recovery is None:
            raise NotFound("未找到该应追回款")
        require(can_settle_recovery(actor, recovery))  # not settled yet
        recovery.settled_at = timezone.now()
        recovery.settled_by = actor
        recovery.settlement_reference = (reference or "").strip()
        recovery.save()
    return recovery


def payment_state(claim: Claim) -> str:
    """paid · partly_paid · failed · unpaid, for the claim page and the finance list."""
    payments = list(claim.payments.all())
    paid = {p.kind for p in payments if p.status == PaymentStatus.PAID}
    if PaymentKind.BALANCE in paid:
        return "paid"
    reissued = {p.reissue_of_id for p in payments if p.reissue_of_id}
    if any(p.status == PaymentStatus.FAILED and p.pk not in reissued for p in payments):
        return "failed"
    if paid:
        return "partly_paid"
    return "unpaid"


def requeue_stuck_rollups(*, older_than_minutes: int = 10) -> int:
    """Queued or running rollups untouched for a while are queued again (idempotent)."""
    cutoff = timezone.now() - timezone.timedelta(minutes=older_than_minutes)
    stuck = Rollup.objects.filter(
        status__in=[RollupStatus.QUEUED, RollupStatus.RUNNING], requested_at__lt=cutoff
    ).filter(Q(started_at__isnull=True) | Q(started_at__lt=cutoff))
    count = 0
    for rollup in stuck:
        _enqueue(rollup.pk)
        count += 1
    return count
