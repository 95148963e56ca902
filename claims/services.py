"""Every change to a claim: one function each, one transaction, one audit event.

Rows are locked in a fixed order — the trainee(s) by id, then the claim — so that two
clerks of two units filing for one person are served one after the other and the
second sees the first's claim in the person's history (五(二): 3 a year, one trade and
level once). The database constraints are the backstop if anything slips past.
"""

from __future__ import annotations

import secrets
from dataclasses import asdict, dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from accounts.models import User
from altay_skills.errors import Conflict, DomainError, NotFound, PermissionDenied
from claims import rules, workflow
from claims.audit import record_events
from claims.models import (
    LIMIT_SLOTS,
    Claim,
    ClaimEvent,
    QuarterlyReport,
    ReportItem,
    ReportStatus,
    SpotCheck,
    SpotCheckResult,
)
from claims.quarters import quarter_bounds
from claims.selectors import claims_visible_to, prior_claims_of, reports_visible_to
from programs.models import Institution, Level, Program, Trade, Unit
from programs.selectors import institution_facts, policy_terms, program_facts
from trainees.models import Trainee


@dataclass(frozen=True)
class ClaimInput:
    """The fields a clerk gives (api-contract.md "Body of a claim"), already parsed."""

    trainee_id: int
    program_id: int
    institution_id: int
    unit_id: str
    training_start: date
    training_end: date
    amount_requested: Decimal
    trade_id: str | None = None
    level_id: str | None = None
    employer_id: int | None = None
    project_based: bool = False
    work_in_lieu_months: int = 0
    passed: bool = False
    certificate_number: str = ""
    employment: str = "none"


INPUT_FIELDS = tuple(ClaimInput.__dataclass_fields__)


def _input_values(data: ClaimInput) -> dict[str, Any]:
    """The fields as a dict: every one is a scalar, so ``asdict``'s deep copy is waste
    (it was 2.7 s of an import of 5,000 claims)."""
    return {name: getattr(data, name) for name in INPUT_FIELDS}


# --- Judging -----------------------------------------------------------------------------
def judge(data: ClaimInput, *, claim_id: int | None = None) -> rules.Decision:
    """The decision for these facts, with the person's history and the policy as they
    stand in the database now. Raises ``DomainError`` for a reference that does not exist.
    """
    trainee = _get(Trainee, data.trainee_id, "培训人员不存在")
    program = _get(Program, data.program_id, "项目不存在")
    institution = _get(Institution, data.institution_id, "培训机构/企业不存在")
    employer = (
        _get(Institution, data.employer_id, "用人单位不存在")
        if data.employer_id
        else None
    )
    trade = _get(Trade, data.trade_id, "职业(工种)不存在") if data.trade_id else None
    level = _get(Level, data.level_id, "等级不存在") if data.level_id else None
    _get(Unit, data.unit_id, "申报单位不存在")
    facts = claim_facts(
        data,
        program=program,
        institution=institution,
        employer=employer,
        trade=trade,
        level=level,
        claim_id=claim_id,
    )
    return rules.decide(
        facts,
        trainee=rules.TraineeFacts(
            birth_date=trainee.birth_date,
            household=trainee.household,
            groups=frozenset(trainee.groups),
        ),
        program=program_facts(program),
        history=prior_claims_of(trainee.pk, exclude_claim_id=claim_id),
        policy=policy_terms(),
        today=timezone.localdate(),
    )


def claim_facts(
    data: ClaimInput,
    *,
    program: Program,
    institution: Institution,
    employer: Institution | None,
    trade: Trade | None,
    level: Level | None,
    claim_id: int | None = None,
) -> rules.ClaimFacts:
    """What the rules see of a claim: ``data`` with its references resolved. The one
    builder of ``rules.ClaimFacts``, for ``judge`` and the spreadsheet import alike, so
    that a claim filed by form and one filed by file cannot be judged on other facts.
    """
    return rules.ClaimFacts(
        program=program.number,
        unit=data.unit_id,
        training_start=data.training_start,
        training_end=data.training_end,
        amount_requested=data.amount_requested,
        institution=institution_facts(institution),
        employer=institution_facts(employer),
        trade=data.trade_id,
        level=data.level_id,
        project_based=data.project_based,
        work_in_lieu_months=data.work_in_lieu_months,
        passed=data.passed,
        certificate_number=data.certificate_number,
        employment=data.employment,
        claim_id=claim_id,
        trade_name=trade.name if trade else "",
        level_name=level.name if level else "",
    )


def claim_check(*, data: ClaimInput, actor: User) -> rules.Decision:
    """The dry run: judge without storing anything."""
    _require_unit_access(actor, data.unit_id)
    return judge(data)


def input_of(claim: Claim) -> ClaimInput:
    return ClaimInput(**{name: getattr(claim, name) for name in INPUT_FIELDS})


# --- Transitions ----------------------------------------------------------------------------
def claim_create(*, data: ClaimInput, actor: User) -> Claim:
    """A clerk saves a draft; it may be saved whatever its decision says."""
    if not actor.is_clerk:
        raise PermissionDenied("只有县(市)经办人可以录入申报")
    _require_unit_access(actor, data.unit_id)
    _require_ordered_dates(data)
    with transaction.atomic():
        decision = judge(data)
        claim = Claim(**asdict(data), created_by=actor)
        _apply_decision(claim, decision)
        claim.save()
        claim.policy_entries.set(decision.policy_entry_ids)
        _record(
            claim, actor, "create", "", workflow.DRAFT, changes=_as_changes({}, data)
        )
    return claim


def claim_update(*, claim_id: int, data: ClaimInput, actor: User) -> Claim:
    """A clerk changes a draft or a returned claim; its decision is judged again."""
    _require_unit_access(actor, data.unit_id)
    _require_ordered_dates(data)
    try:
        with transaction.atomic():
            claim = _lock_claim(claim_id, actor, also_trainee=data.trainee_id)
            transition = _transition(claim, "edit", actor)
            before = input_of(claim)
            for name, value in asdict(data).items():
                setattr(claim, name, value)
            decision = judge(data, claim_id=claim.pk)
            _apply_decision(claim, decision)
            changes = _as_changes(asdict(before), data)
            if claim.status in rules.COUNTING_STATUSES:
                # A returned claim still holds a slot of its year: a new end date
                # (or program, or person) moves it, or refuses if that year is full.
                _take_limit_slot(claim)
            claim.save()
            claim.policy_entries.set(decision.policy_entry_ids)
            _record(
                claim, actor, "edit", claim.status, transition.target, changes=changes
            )
    except IntegrityError as exc:
        # A returned claim still counts: the database refuses a duplicate trade and
        # level, or an amount above its cap. Answer 409, never a 500.
        raise _limit_conflict(exc) from None
    return claim


def claim_submit(*, claim_id: int, actor: User) -> Claim:
    """Submit a draft (or a corrected returned claim): it must be eligible now."""
    try:
        with transaction.atomic():
            claim = _lock_claim(claim_id, actor)
            transition = _transition(claim, "submit", actor)
            decision = judge(input_of(claim), claim_id=claim.pk)
            if not decision.eligible:
                # Keep the fresh decision on the claim so the clerk sees why.
                _apply_decision(claim, decision)
                claim.save()
                claim.policy_entries.set(decision.policy_entry_ids)
                raise _Refused(decision)
            from_status = claim.status
            _apply_decision(claim, decision)
            claim.status = transition.target
            claim.submitted_at = timezone.now()
            _take_limit_slot(claim)
            claim.save()
            claim.policy_entries.set(decision.policy_entry_ids)
            _record(claim, actor, "submit", from_status, claim.status)
            _queue_claim_checks([claim.pk])
    except _Refused as refused:
        raise Conflict(
            "not_eligible",
            "申报不符合补贴条件，未能提交",
            detail=refused.decision.as_dict(),
        ) from None
    except IntegrityError as exc:
        raise _limit_conflict(exc) from None
    return claim


def claim_withdraw(*, claim_id: int, actor: User, reason: str = "") -> Claim:
    return _move(claim_id, "withdraw", actor, reason)


def claim_approve(
    *, claim_id: int, actor: User, reason: str = "", budget_reason: str = ""
) -> Claim:
    """Approve a claim. If that takes its (unit, year of training end, fund) past the
    budget finance entered (七(五)), it is refused (``over_budget``) unless
    ``budget_reason`` says why; the reason is then kept on the event and in a
    ``BudgetOverride``."""
    from reporting.budgets import lock_budgets_for

    with transaction.atomic():
        lock_budgets_for([claim_id])  # the budget row first: see reporting.budgets
        return _move(claim_id, "approve", actor, reason, budget_reason=budget_reason)


def claim_reject(*, claim_id: int, actor: User, reason: str) -> Claim:
    return _move(claim_id, "reject", actor, reason)


def claim_return(*, claim_id: int, actor: User, reason: str) -> Claim:
    return _move(claim_id, "return", actor, reason)


# --- Internals -------------------------------------------------------------------------------
class _Refused(Exception):
    def __init__(self, decision: rules.Decision) -> None:
        self.decision = decision


def _move(
    claim_id: int, action: str, actor: User, reason: str, *, budget_reason: str = ""
) -> Claim:
    reason = (reason or "").strip()
    budget_reason = (budget_reason or "").strip()
    excess = None
    with transaction.atomic():
        claim = _lock_claim(claim_id, actor)
        transition = _transition(claim, action, actor)
        if transition.needs_reason and not reason:
            raise DomainError("reason_required", "驳回或退回须填写理由")
        if action in ("approve", "reject", "return"):
            if claim.created_by_id == actor.pk:
                raise PermissionDenied("不能审核本人录入的申报（经办与审核须分离）")
            if claim.report_id is None or claim.report.status != ReportStatus.SUBMITTED:
                raise Conflict(
                    "not_in_report",
                    "只能审核已随季度报表报送、尚未审结的申报（五(一)）",
                )
            if (
                action == "approve"
                and claim.spot_checks.filter(result="pending").exists()
            ):
                raise Conflict(
                    "spot_check_pending", "该申报被抽查，请先登记材料核对结果"
                )
            claim.reviewed_by = actor
            claim.reviewed_at = timezone.now()
        if action == "approve":
            claim.approved_amount = claim.amount
            from reporting.budgets import approval_excess

            excess = approval_excess(claim, claim.amount)
            if excess is not None:
                if not budget_reason:
                    raise Conflict(
                        "over_budget",
                        excess.message(),
                        detail={
                            "unit": excess.unit,
                            "year": excess.year,
                            "fund": excess.fund,
                            "budget": str(excess.budget),
                            "approved": str(excess.approved),
                            "amount": str(excess.amount),
                            "over_by": str(excess.over_by),
                        },
                    )
                note = f"超预算核准理由：{budget_reason}"
                reason = f"{reason}；{note}" if reason else note
        if action == "return":
            claim.report = None  # leaves the report and goes back to the clerk
        if action == "withdraw" and claim.report_id is not None:
            if claim.report.status != ReportStatus.DRAFT:
                raise Conflict("in_report", "申报已随季度报表报送地区审核，不能撤回")
            claim.report = None  # leaves the unit's draft report
        from_status = claim.status
        claim.status = transition.target
        if claim.status not in rules.COUNTING_STATUSES:
            claim.limit_year = claim.limit_slot = None
        claim.save()
        _record(claim, actor, action, from_status, claim.status, reason=reason)
        if excess is not None:
            from reporting.budgets import override_record

            override_record(
                claim=claim, excess=excess, reason=budget_reason, actor=actor
            )
        if action == "reject":
            from reporting.services import recovery_for_rejection

            recovery_for_rejection(claim=claim, reason=reason)
    return claim


def _get(model: Any, pk: object, message: str) -> Any:
    try:
        return model.objects.get(pk=pk)
    except (model.DoesNotExist, ValueError, TypeError):
        raise DomainError("invalid_reference", message) from None


def _require_unit_access(actor: User, unit_id: str) -> None:
    if actor.is_clerk and actor.unit_id != unit_id:
        raise PermissionDenied("经办人只能为本单位录入申报")


def _require_ordered_dates(data: ClaimInput) -> None:
    """A draft may be refused by the rules, but not be nonsense: end before start."""
    if data.training_end < data.training_start:
        raise DomainError("invalid_dates", "培训结束日期早于开始日期")


def _lock_claim(
    claim_id: int, actor: User, *, also_trainee: int | None = None
) -> Claim:
    """Lock the trainee row(s), then the claim: always in that order (see module doc)."""
    visible = claims_visible_to(actor)
    current = visible.filter(pk=claim_id).values_list("trainee_id", flat=True).first()
    if current is None:
        raise NotFound("未找到该申报")
    trainee_ids = sorted({current, also_trainee} - {None})
    locked = list(
        Trainee.objects.select_for_update()
        .filter(pk__in=trainee_ids)
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    if also_trainee is not None and also_trainee not in locked:
        raise DomainError("invalid_reference", "培训人员不存在")
    claim = Claim.objects.select_for_update(of=("self",)).get(pk=claim_id)
    if claim.trainee_id != current:  # changed between the read and the lock
        raise Conflict("concurrent_change", "该申报刚被他人修改，请刷新后重试")
    return claim


def _transition(claim: Claim, action: str, actor: User) -> workflow.Transition:
    transition = workflow.transition_for(claim.status, action)
    label = workflow.ACTION_LABELS.get(action, action)
    status_label = workflow.STATUS_LABELS.get(claim.status, claim.status)
    if transition is None:
        raise Conflict("invalid_transition", f"“{status_label}”状态的申报不能{label}")
    if actor.role not in transition.roles:
        raise PermissionDenied(f"您的角色不能{label}申报")
    return transition


def _apply_decision(claim: Claim, decision: rules.Decision) -> None:
    claim.eligible = decision.eligible
    claim.cap = decision.cap
    claim.amount = decision.amount
    claim.advance = decision.advance
    claim.fund = decision.fund
    claim.payee = decision.payee
    claim.violations = [v.as_dict() for v in decision.violations]
    claim.explanation = list(decision.explanation)
    claim.decided_on = timezone.localdate()


def _take_limit_slot(claim: Claim) -> None:
    """Hold the smallest free slot of the person's year (the trainee row is locked)."""
    if not rules.counts_toward_limits(claim.program_id):
        claim.limit_year = claim.limit_slot = None
        return
    year = claim.training_end.year
    taken = set(
        Claim.objects.filter(
            trainee_id=claim.trainee_id,
            limit_year=year,
            status__in=rules.COUNTING_STATUSES,
        )
        .exclude(pk=claim.pk)
        .values_list("limit_slot", flat=True)
    )
    free = [s for s in range(1, LIMIT_SLOTS + 1) if s not in taken]
    if not free:
        raise Conflict("annual_limit", f"该人员{year}年的培训补贴次数已满")
    claim.limit_year, claim.limit_slot = year, free[0]


def _limit_conflict(exc: IntegrityError) -> DomainError:
    text = str(exc)
    if "trade_level" in text or "trade_id" in text:  # PostgreSQL names it, SQLite not
        return Conflict("duplicate_trade_level", "同一职业同一等级不可重复享受补贴")
    if "limit_slot" in text:
        return Conflict("annual_limit", "每人每年享受培训补贴不超过3次")
    if "submitted_within_cap" in text:
        return Conflict("over_cap", "已提交或已退回的申报须有补贴上限且不超过上限")
    return Conflict("constraint_violation", "数据不满足约束条件，未保存")


def _record(
    claim: Claim,
    actor: User,
    action: str,
    from_status: str,
    to_status: str,
    *,
    reason: str = "",
    changes: dict[str, Any] | None = None,
) -> ClaimEvent:
    (event,) = record_events(
        [
            ClaimEvent(
                claim=claim,
                actor=actor,
                action=action,
                from_status=from_status,
                to_status=to_status,
                reason=reason,
                changes=changes or {},
            )
        ]
    )
    return event


def _as_changes(before: dict[str, Any], after: ClaimInput) -> dict[str, Any]:
    """Field → [old, new] for what differs, as text (JSON-safe, Decimal-exact)."""
    changes = {}
    for name, new in _input_values(after).items():
        old = before.get(name)
        if old != new:
            changes[name] = [_text(old), _text(new)]
    return changes


def _text(value: object) -> object:
    if value is None or isinstance(value, bool | int | str):
        return value
    return str(value)


# --- The quarterly report (按季汇总, 五(一)) ----------------------------------------
def report_build(*, unit_id: str, quarter: str, actor: User) -> QuarterlyReport:
    """Build (or refresh) the unit's draft report for a quarter from its submitted claims
    not yet reported whose training ended by the quarter's end."""
    if not actor.is_clerk:
        raise PermissionDenied("只有县(市)经办人可以编制季度报表")
    _require_unit_access(actor, unit_id)
    bounds = quarter_bounds(quarter)
    if bounds is None:
        raise DomainError("invalid_quarter", "季度格式应为“2020Q1”")
    quarter = quarter.strip().upper()
    if bounds[0] > timezone.localdate():
        raise DomainError("invalid_quarter", "该季度尚未开始，不能编制报表")
    with transaction.atomic():
        report = (
            QuarterlyReport.objects.select_for_update()
            .filter(unit_id=unit_id, quarter=quarter)
            .exclude(status=ReportStatus.DISCARDED)
            .first()
        )
        if report is not None and report.status != ReportStatus.DRAFT:
            raise Conflict("report_frozen", f"{quarter}季度报表已报送，不能再编制")
        if report is None:
            try:
                with transaction.atomic():
                    report = QuarterlyReport.objects.create(
                        unit_id=unit_id, quarter=quarter, built_by=actor
                    )
            except IntegrityError:
                raise Conflict("report_exists", "该单位本季度已有报表") from None
        Claim.objects.filter(
            unit_id=unit_id,
            status=workflow.SUBMITTED,
            report__isnull=True,
            training_end__lte=bounds[1],
        ).update(report=report)
    return report


def report_discard(*, report_id: int, actor: User) -> QuarterlyReport:
    with transaction.atomic():
        report = _lock_report(report_id, actor)
        if not actor.is_clerk:
            raise PermissionDenied("只有经办人可以作废本单位的报表草稿")
        if report.status != ReportStatus.DRAFT:
            raise Conflict("report_frozen", "已报送的报表不能作废")
        Claim.objects.filter(report=report).update(report=None)
        report.status = ReportStatus.DISCARDED
        report.save(update_fields=["status"])
    return report


def report_submit(*, report_id: int, actor: User) -> QuarterlyReport:
    """Freeze the report — claim list, count, control total — and send it on."""
    with transaction.atomic():
        report = _lock_report(report_id, actor)
        if not actor.is_clerk:
            raise PermissionDenied("只有经办人可以报送本单位的报表")
        if report.status != ReportStatus.DRAFT:
            raise Conflict("report_frozen", "该报表已报送")
        claims = list(
            Claim.objects.select_for_update().filter(report=report).order_by("pk")
        )
        stray = [c.pk for c in claims if c.status != workflow.SUBMITTED]
        if stray:
            raise Conflict("report_changed", "报表中有申报状态已变化，请重新编制")
        if not claims:
            raise DomainError("report_empty", "报表中没有待报送的申报")
        ReportItem.objects.bulk_create(
            ReportItem(
                report=report,
                claim=c,
                amount=c.amount,
                advance=c.advance,
                fund=c.fund,
                program_id=c.program_id,
            )
            for c in claims
        )
        report.claim_count = len(claims)
        report.control_total = rules.to_fen(sum((c.amount for c in claims), Decimal(0)))
        report.status = ReportStatus.SUBMITTED
        report.submitted_by = actor
        report.submitted_at = timezone.now()
        report.save()
        record_events(
            [
                ClaimEvent(
                    claim=c,
                    actor=actor,
                    action="report",
                    from_status=c.status,
                    to_status=c.status,
                    reason=f"列入{report.quarter}季度报表报送",
                    changes={"report": [None, report.pk]},
                )
                for c in claims
            ]
        )
    return report


def report_draw_spot_checks(
    *, report_id: int, actor: User, share: Decimal | None = None
) -> list[SpotCheck]:
    """Draw a reproducible random sample of the report for document checking."""
    with transaction.atomic():
        report = _lock_report(report_id, actor)
        if not actor.is_reviewer:
            raise PermissionDenied("只有地区审核人可以抽查")
        if report.status != ReportStatus.SUBMITTED:
            raise Conflict("report_not_submitted", "只能对已报送、未审结的报表抽查")
        if report.spot_check_seed:
            raise Conflict("spot_checks_drawn", "该报表已抽样，种子已记录，不能重抽")
        share = Decimal(share if share is not None else settings.SPOT_CHECK_SHARE)
        if not (Decimal("0") < share <= Decimal("1")):
            raise DomainError("invalid_share", "抽查比例应大于0且不超过100%")
        seed = secrets.token_hex(8)
        ids = report.items.values_list("claim_id", flat=True)
        sample = rules.spot_check_sample(ids, share, seed)
        checks = SpotCheck.objects.bulk_create(
            SpotCheck(report=report, claim_id=claim_id) for claim_id in sample
        )
        report.spot_check_seed = seed
        report.spot_check_share = share
        report.spot_checked_by = actor
        report.spot_checked_at = timezone.now()
        report.save()
    return checks


def spot_check_record(
    *, spot_check_id: int, actor: User, result: str, note: str = ""
) -> SpotCheck:
    if not actor.is_reviewer:
        raise PermissionDenied("只有地区审核人可以登记抽查结果")
    if result not in (SpotCheckResult.CONSISTENT, SpotCheckResult.INCONSISTENT):
        raise DomainError("invalid", "核对结果应为“材料相符”或“材料不符”")
    note = (note or "").strip()
    if result == SpotCheckResult.INCONSISTENT and not note:
        raise DomainError("reason_required", "材料不符须说明情况")
    with transaction.atomic():
        try:
            check = SpotCheck.objects.select_for_update().get(pk=spot_check_id)
        except SpotCheck.DoesNotExist:
            raise NotFound("未找到该抽查") from None
        if check.report.status != ReportStatus.SUBMITTED:
            raise Conflict("report_not_submitted", "报表已审结，不能修改抽查结果")
        check.result, check.note = result, note
        check.checked_by, check.checked_at = actor, timezone.now()
        check.save()
        record_events(
            [
                ClaimEvent(
                    claim_id=check.claim_id,
                    actor=actor,
                    action="spot_check",
                    from_status=check.claim.status,
                    to_status=check.claim.status,
                    reason=note,
                    changes={"spot_check": result},
                )
            ]
        )
    return check


def report_close(*, report_id: int, actor: User) -> QuarterlyReport:
    """审结: every claim decided, spot checks drawn and every sampled claim decided."""
    with transaction.atomic():
        report = _lock_report(report_id, actor)
        if not actor.is_reviewer:
            raise PermissionDenied("只有地区审核人可以审结报表")
        if report.status != ReportStatus.SUBMITTED:
            raise Conflict("report_not_submitted", "只能审结已报送的报表")
        if not report.spot_check_seed:
            raise Conflict("spot_checks_missing", "请先随机抽查，再审结报表")
        pending = report.claims.filter(status=workflow.SUBMITTED).count()
        if pending:
            raise Conflict("claims_undecided", f"报表中还有{pending}笔申报未审核")
        # A sampled claim returned to its unit was decided here, even if it has since
        # been resubmitted into a later report.
        sampled_open = report.spot_checks.filter(
            claim__report=report, claim__status=workflow.SUBMITTED
        ).count()
        if sampled_open:
            raise Conflict("spot_checks_undecided", "抽查的申报尚未全部审核")
        report.status = ReportStatus.CLOSED
        report.closed_by = actor
        report.closed_at = timezone.now()
        report.save()
    return report


def claims_approve_bulk(
    *, claim_ids: list[int], actor: User, budget_reason: str = ""
) -> list[Claim]:
    """Approve a selection: all of it, or none (the message names the claim that failed).

    A selection that would take a fund past its budget (七(五)) is refused as a whole
    (``over_budget``, naming every fund) unless ``budget_reason`` is given.
    """
    from reporting.budgets import budget_impact, lock_budgets_for

    ids = sorted(set(claim_ids))
    approved = []
    with transaction.atomic():
        lock_budgets_for(ids)
        over = [
            i
            for i in budget_impact(claims_visible_to(actor).filter(pk__in=ids))
            if i.is_over
        ]
        if over and not (budget_reason or "").strip():
            raise Conflict(
                "over_budget",
                "核准后将超出预算："
                + "；".join(i.message() for i in over)
                + "。确需核准的，请填写超预算理由（七(五)）",
                detail=[
                    {
                        "unit": i.unit,
                        "year": i.year,
                        "fund": i.fund,
                        "budget": str(i.budget),
                        "approved": str(i.approved),
                        "selection": str(i.selection),
                        "over_by": str(i.over_by),
                    }
                    for i in over
                ],
            )
        for claim_id in ids:
            try:
                approved.append(
                    claim_approve(
                        claim_id=claim_id, actor=actor, budget_reason=budget_reason
                    )
                )
            except DomainError as exc:
                exc.message = f"申报#{claim_id}：{exc.message}"
                exc.args = (exc.message,)
                raise
    return approved


def _lock_report(report_id: int, actor: User) -> QuarterlyReport:
    qs = reports_visible_to(actor).select_for_update(of=("self",))
    try:
        return qs.get(pk=report_id)
    except (QuarterlyReport.DoesNotExist, ValueError, TypeError):
        raise NotFound("未找到该报表") from None


# --- Many claims at once (spreadsheet import) ------------------------------------------------
def claims_create_batch(
    *, items: list[tuple[ClaimInput, rules.Decision]], actor: User, submit: bool
) -> list[Claim]:
    """Write many judged claims in bulk, as drafts or submitted, with their events.

    The caller holds the row locks of every trainee involved (taken in id order) and
    judged each claim under them, with the batch's earlier claims counted as history —
    as ``claims.intake`` does. The yearly slots are allocated here and the database
    constraints stay the backstop, so a slip is a refusal, never a fourth claim.
    """
    if not actor.is_clerk:
        raise PermissionDenied("只有县(市)经办人可以录入申报")
    for data, decision in items:
        _require_unit_access(actor, data.unit_id)
        _require_ordered_dates(data)
        if submit and not decision.eligible:
            raise Conflict(
                "not_eligible",
                "申报不符合补贴条件，未能提交",
                detail=decision.as_dict(),
            )
    now = timezone.now()
    taken: dict[tuple[int, int], set[int]] = {}
    for trainee_id, year, slot in Claim.objects.filter(
        trainee_id__in={d.trainee_id for d, _ in items},
        status__in=rules.COUNTING_STATUSES,
        limit_slot__isnull=False,
    ).values_list("trainee_id", "limit_year", "limit_slot"):
        taken.setdefault((trainee_id, year), set()).add(slot)
    claims = []
    for data, decision in items:
        claim = Claim(**_input_values(data), created_by=actor)
        _apply_decision(claim, decision)
        if submit:
            claim.status = workflow.SUBMITTED
            claim.submitted_at = now
            if rules.counts_toward_limits(claim.program_id):
                used = taken.setdefault(
                    (claim.trainee_id, claim.training_end.year), set()
                )
                free = [s for s in range(1, LIMIT_SLOTS + 1) if s not in used]
                if not free:
                    raise Conflict("annual_limit", "每人每年享受培训补贴不超过3次")
                claim.limit_year, claim.limit_slot = claim.training_end.year, free[0]
                used.add(free[0])
        claims.append(claim)
    try:
        with transaction.atomic():
            Claim.objects.bulk_create(claims, batch_size=500)
            link = Claim.policy_entries.through
            link.objects.bulk_create(
                [
                    link(claim_id=claim.pk, policyentry_id=entry_id)
                    for claim, (_, decision) in zip(claims, items, strict=True)
                    for entry_id in decision.policy_entry_ids
                ],
                batch_size=1000,
            )
            events = []
            for claim, (data, _) in zip(claims, items, strict=True):
                events.append(
                    ClaimEvent(
                        claim=claim,
                        actor=actor,
                        action="create",
                        from_status="",
                        to_status=workflow.DRAFT,
                        changes=_as_changes({}, data),
                        reason="批量导入",
                    )
                )
                if submit:
                    events.append(
                        ClaimEvent(
                            claim=claim,
                            actor=actor,
                            action="submit",
                            from_status=workflow.DRAFT,
                            to_status=workflow.SUBMITTED,
                            reason="批量导入",
                        )
                    )
            record_events(events)
            if submit:
                _queue_claim_checks([claim.pk for claim in claims])
    except IntegrityError as exc:
        raise _limit_conflict(exc) from None
    return claims


def _queue_claim_checks(claim_ids: list[int]) -> None:
    """In the submitting transaction: the reviewers' checks of the claims, queued
    through the outbox so that a broker that is down loses nothing."""
    from reporting import outbox

    outbox.enqueue("reporting.tasks.check_submitted_claims", claim_ids=claim_ids)
