"""The quarter's changes: a unit's report built, submitted, discarded and closed, the
spot checks drawn and recorded, and the reviewer's decision on each claim (五(一)).

Each is one function, one transaction, one audit event (a claim's ``ClaimEvent``, a
report's ``ReportEvent``). Rows are locked in the order of ``altay_skills.lock_objects``:
the budget row (七(五)), the trainee, the report, the claim, the spot check. A claim's
own transition (status, yearly slot, event) is ``claims.services.claim_move``; this
stage decides whether the reviewer may take it.
"""

from __future__ import annotations

import secrets
from collections.abc import Collection, Iterator
from contextlib import contextmanager
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Count, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import User
from altay_skills import lock_objects
from altay_skills.errors import Conflict, DomainError, NotFound
from altay_skills.periods import QUARTER_MESSAGE, quarter_bounds
from altay_skills.permissions import require
from altay_skills.plain_text import checked_reason, checked_text
from altay_skills.working_days import covered as calendar_covers
from altay_skills.working_days import is_working_day
from claims import rules, workflow
from claims.audit import record_events
from claims.models import (
    BacklogEntry,
    Claim,
    ClaimAction,
    ClaimEvent,
    Document,
    DocumentDownload,
    backlog_compact,
    backlog_moved,
    claim_summary_place,
)
from claims.selectors import claims_visible_to
from claims.services import (
    claim_move,
    claim_transition,
    lock_claim,
)
from claims.warnings import warnings_for_claims
from classes.selectors import class_documents_of_claims
from quarters.budgets import (
    approval_excess,
    approval_fund,
    budget_impact,
    lock_budgets_for,
    override_record,
)
from quarters.events import report_event_record
from quarters.models import (
    Objection,
    ObjectionStatus,
    PublicNotice,
    QuarterlyReport,
    ReportAction,
    ReportItem,
    ReportStatus,
    SpotCheck,
    SpotCheckResult,
)
from quarters.permissions import (
    can_build_report,
    can_close_report,
    can_decide,
    can_discard_report,
    can_draw_spot_checks,
    can_record_finding,
    can_record_spot_check,
    can_submit_report,
)
from quarters.rules import notice_closes_on
from quarters.selectors import (
    ON_NOTICE,
    claim_makers_and_payers,
    claims_with_open_objections,
    notice_generation_bump,
    notice_period,
    objections_visible_to,
    reports_visible_to,
    spot_check_results,
)


# --- The reviewer's decision on one claim ------------------------------------------------
def claim_approve(
    *,
    claim_id: int,
    actor: User,
    reason: str = "",
    budget_reason: str = "",
    spot_check_reason: str = "",
) -> Claim:
    """Approve a claim. If that takes its (unit, year of training end, fund) past the
    budget finance entered (七(五)), it is refused (``over_budget``) unless
    ``budget_reason`` says why; the reason is then kept on the event and in a
    ``BudgetOverride``. A claim whose spot check found the documents inconsistent
    (材料不符) is refused (``spot_check_inconsistent``) unless ``spot_check_reason``
    says why it is approved anyway; that reason is kept on the approval's event
    (``changes["spot_check_override"]``), which the auditor's list reads
    (``quarters.selectors.spot_check_overrides``). The review comment ``reason``
    never stands in for either."""
    with transaction.atomic():
        lock_budgets_for([claim_id])  # the budget row first: see quarters.budgets
        return _decide(
            claim_id,
            "approve",
            actor,
            reason,
            budget_reason=budget_reason,
            spot_check_reason=spot_check_reason,
        )


def claim_reject(*, claim_id: int, actor: User, reason: str) -> Claim:
    return _decide(claim_id, "reject", actor, reason)


def claim_return(*, claim_id: int, actor: User, reason: str) -> Claim:
    return _decide(claim_id, "return", actor, reason)


def _decide(
    claim_id: int,
    action: str,
    actor: User,
    reason: str,
    *,
    budget_reason: str = "",
    spot_check_reason: str = "",
    makers: Collection[int] | None = None,
    spot_checks: Collection[str] | None = None,
    open_objection: bool | None = None,
) -> Claim:
    """One decision under the claim's lock. ``makers`` and ``spot_checks`` are the
    claim's facts when a bulk approval read them for its whole selection, under the
    same locks; otherwise ``can_decide`` reads them here, under this claim's lock —
    so nobody can edit, submit or report it between the check and the decision."""
    reason = (reason or "").strip()
    budget_reason = checked_reason(
        budget_reason, missing=workflow.BUDGET_REASON, required=False
    )
    spot_check_reason = checked_reason(
        spot_check_reason, missing=workflow.SPOT_CHECK_REASON, required=False
    )
    excess = None
    with transaction.atomic():
        claim = lock_claim(claim_id, actor)
        # who (the role, maker ≠ checker), then what (the status, a submitted report,
        # the spot checks): 403 before 409
        require(
            can_decide(
                actor,
                claim,
                action,
                makers=makers,
                spot_checks=spot_checks,
                spot_check_override=bool(spot_check_reason),
                open_objection=open_objection,
            )
        )
        transition = claim_transition(claim, action, actor, reason=reason)
        claim.reviewed_by = actor
        claim.reviewed_at = timezone.now()
        changes: dict[str, Any] = {}
        if action == "approve":
            claim.approved_amount = claim.amount
            overridden = _inconsistent_checks(claim) if spot_check_reason else []
            if overridden:
                changes["spot_check_override"] = {
                    "spot_checks": overridden,
                    "reason": spot_check_reason,
                }
                note = f"{SPOT_CHECK_OVERRIDE_NOTE}{spot_check_reason}"
                reason = f"{reason}；{note}" if reason else note
            # 三(三)10: program 10's fund is fixed now, under the budget rows' lock
            fund = approval_fund(claim, claim.amount)
            if fund != claim.fund:
                changes["fund"] = {"before": claim.fund, "after": fund}
                claim.fund = fund
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
        claim_move(claim, action, transition, actor, reason=reason, changes=changes)
        if action in ("reject", "return"):
            notice_generation_bump()  # the claim leaves its report's public notice
        if excess is not None:
            override_record(
                claim=claim, excess=excess, reason=budget_reason, actor=actor
            )
    return claim


#: How an approval's event says it overrode an inconsistent spot check.
SPOT_CHECK_OVERRIDE_NOTE = "抽查材料不符仍予核准理由："


def _inconsistent_checks(claim: Claim) -> list[int]:
    return sorted(
        SpotCheck.objects.filter(
            claim=claim, result=SpotCheckResult.INCONSISTENT
        ).values_list("pk", flat=True)
    )


# --- The quarterly report (按季汇总, 五(一)) ----------------------------------------
def report_build(*, unit_id: str, quarter: str, actor: User) -> QuarterlyReport:
    """Build (or refresh) the unit's draft report for a quarter from its submitted claims
    not yet reported whose training ended by the quarter's end."""
    require(can_build_report(actor, unit_id))
    bounds = quarter_bounds(quarter)
    if bounds is None:
        raise DomainError("invalid_quarter", QUARTER_MESSAGE)
    quarter = quarter.strip().upper()
    if bounds[0] > timezone.localdate():
        raise DomainError("invalid_quarter", "该季度尚未开始，不能编制报表")
    with transaction.atomic():
        report = lock_objects.lock_report(
            among=QuarterlyReport.objects.filter(
                unit_id=unit_id, quarter=quarter
            ).exclude(status=ReportStatus.DISCARDED)
        )
        created = report is None
        if report is not None:
            require(can_build_report(actor, unit_id, report))  # still a draft
        if report is None:
            try:
                with transaction.atomic():
                    report = QuarterlyReport.objects.create(
                        unit_id=unit_id, quarter=quarter, built_by=actor
                    )
            except IntegrityError:
                raise Conflict("report_exists", "该单位本季度已有报表") from None
        moved = lock_objects.lock_claim_ids(
            Claim.objects.filter(
                unit_id=unit_id,
                status=workflow.SUBMITTED,
                report__isnull=True,
                training_end__lte=bounds[1],
            )
        )
        Claim.objects.filter(pk__in=moved).update(report=report)
        backlog_moved(moved, +1)  # saved by no ``save``: counted in here
        report_event_record(
            report=report,
            actor=actor,
            action=ReportAction.BUILD,
            changes={"created": created, "claims_in": moved},
        )
    return report


def report_discard(*, report_id: int, actor: User) -> QuarterlyReport:
    with transaction.atomic():
        report = _lock_report(report_id, actor)
        require(can_discard_report(actor, report))
        moved = lock_objects.lock_claim_ids(Claim.objects.filter(report=report))
        backlog_moved(moved, -1)  # counted out while they are still in the report
        Claim.objects.filter(pk__in=moved).update(report=None)
        report.status = ReportStatus.DISCARDED
        report.save(update_fields=["status"])
        report_event_record(
            report=report,
            actor=actor,
            action=ReportAction.DISCARD,
            changes={"claims_out": moved},
        )
    return report


def report_submit(*, report_id: int, actor: User) -> QuarterlyReport:
    """Freeze the report — claim list, count, control total — and send it on."""
    with transaction.atomic():
        report = _lock_report(report_id, actor)
        require(can_submit_report(actor, report))
        claims = lock_objects.lock_claims(Claim.objects.filter(report=report))
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
        backlog_compact(report.pk)  # now read by the backlog: one row per day
        record_events(
            [
                ClaimEvent(
                    claim=c,
                    actor=actor,
                    action=ClaimAction.REPORT,
                    from_status=c.status,
                    to_status=c.status,
                    reason=f"列入{report.quarter}季度报表报送",
                    changes={"report": [None, report.pk]},
                )
                for c in claims
            ]
        )
        notice = _notice_open(report)
        report_event_record(
            report=report,
            actor=actor,
            action=ReportAction.SUBMIT,
            changes={
                "claim_count": report.claim_count,
                "control_total": str(report.control_total),
                "notice": {
                    "opened_on": notice.opened_on.isoformat(),
                    "closes_on": notice.closes_on.isoformat(),
                    "working_days": notice.working_days,
                    "calendar_covered": notice.calendar_covered,
                },
            },
        )
    return report


# --- Public notice and objections (公示, issue 17) -------------------------------------------
def _notice_open(report: QuarterlyReport) -> PublicNotice:
    """The submitted report's claims go on public notice from today for the working days
    of the policy term in force (``notice_period``), counted on the Chinese calendar."""
    opened_on = timezone.localdate()
    working_days, entry_id = notice_period(report.unit_id, opened_on)
    closes_on = notice_closes_on(opened_on, working_days, is_working_day)
    notice = PublicNotice.objects.create(
        report=report,
        unit_id=report.unit_id,
        quarter=report.quarter,
        opened_on=opened_on,
        closes_on=closes_on,
        working_days=working_days,
        policy_entry_id=entry_id,
        calendar_covered=calendar_covers(opened_on, closes_on),
    )
    notice_generation_bump()
    return notice


#: The reference code's letters: no 0/O, 1/I/L to misread.
REFERENCE_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
REFERENCE_LENGTH = 12
MAX_CONTACT_LENGTH = 100


def objection_lodge(
    *,
    notice_id: int,
    line_id: int,
    text: str,
    contact: str = "",
    actor: User | None,
) -> Objection:
    """Anyone lodges an objection to one line of an open notice (``actor`` is None for a
    member of the public; the challenge and the rate limit are the page's and the
    API's). The text is checked like every reason; the contact, if given, is one line.
    The claim's row is locked so an approval cannot pass between the objection and its
    check (``can_decide``: ``objection_open``)."""
    text = checked_reason(text, missing=_("请填写异议内容（哪里不对）"))
    contact = (contact or "").strip() if isinstance(contact, str) else ""
    if len(contact) > MAX_CONTACT_LENGTH:
        raise DomainError(
            "invalid",
            _("联系方式不能超过%(n)s个字符") % {"n": MAX_CONTACT_LENGTH},
        )
    checked_text(contact)
    notice_key, line_key = _int_or_none(notice_id), _int_or_none(line_id)
    notice = (
        PublicNotice.objects.filter(pk=notice_key).first()
        if notice_key is not None
        else None
    )
    if notice is None:
        raise NotFound(_("未找到该公示"))
    line = (
        ReportItem.objects.filter(pk=line_key, report_id=notice.report_id)
        .filter(ON_NOTICE)  # a rejected or returned claim has left the notice
        .first()
        if line_key is not None
        else None
    )
    if line is None:
        raise NotFound(_("该公示中没有这一行"))
    if not notice.is_open_on(timezone.localdate()):
        raise Conflict("notice_closed", _("公示期已结束，不能再提出异议"))
    with transaction.atomic():
        lock_objects.lock_claim_ids([line.claim_id])
        if not ReportItem.objects.filter(pk=line.pk).filter(ON_NOTICE).exists():
            # rejected or returned between the look above and the claim's lock
            raise NotFound(_("该公示中没有这一行"))
        objection = Objection.objects.create(
            notice=notice,
            line=line,
            claim_id=line.claim_id,
            reference="".join(
                secrets.choice(REFERENCE_ALPHABET) for _ in range(REFERENCE_LENGTH)
            ),
            text=text,
            contact=contact,
            lodged_by=actor,
            lodged_at=timezone.now(),
        )
        notice_generation_bump()
    return objection


def objection_find(
    *,
    objection_id: int,
    outcome: str,
    reason: str,
    actor: User,
    claim_action: str = "return",
) -> Objection:
    """The clerk of the notice's unit or the reviewer records the finding on an
    objection. Upheld: the claim, if it still awaits the reviewer's decision in this
    notice's report, is returned to the clerk (or rejected: ``claim_action``) with the
    finding as its reason; dismissed: the reason is kept. Either way the report's trail
    keeps the objection (its reference, when and what was lodged), the finding and who
    made it; an upheld finding on a claim approved already holds its balance
    (``balance_after_notice``)."""
    require(can_record_finding(actor))
    if outcome not in (ObjectionStatus.UPHELD, ObjectionStatus.DISMISSED):
        raise DomainError(
            "invalid", "核查结论应为“异议成立”（upheld）或“异议不成立”（dismissed）"
        )
    if claim_action not in ("reject", "return"):
        raise DomainError(
            "invalid", "异议成立时对申报的处理应为驳回（reject）或退回（return）"
        )
    reason = checked_reason(reason, missing="请填写核查结论的理由")
    objection_key = _int_or_none(objection_id)
    found = (
        objections_visible_to(actor)
        .filter(pk=objection_key if objection_key is not None else 0)
        .values_list("notice__report_id", "claim_id", "claim__trainee_id")
        .first()
    )
    if found is None:
        raise NotFound("未找到该异议")
    report_id, claim_id, trainee_id = found
    with transaction.atomic():
        # the one order: the person, the report (its trail), the claim, the objection
        lock_objects.lock_trainees([trainee_id])
        report = lock_objects.lock_report(report_id)
        claim = lock_objects.lock_claim(claim_id)
        objection = lock_objects.lock_objection(objection_id)
        objection.claim = claim  # read under its lock: who made it cannot change now
        require(can_record_finding(actor, objection))
        objection.status = outcome
        objection.finding = reason
        objection.decided_by = actor
        objection.decided_at = timezone.now()
        moved = ""
        if (
            outcome == ObjectionStatus.UPHELD
            and claim.status == workflow.SUBMITTED
            and claim.report_id == report_id
        ):
            transition = workflow.transition_for(claim.status, claim_action)
            assert transition is not None  # submitted: both are in the table
            claim.reviewed_by = actor
            claim.reviewed_at = timezone.now()
            if claim_action == "return":
                claim.report = None
            claim_move(
                claim,
                claim_action,
                transition,
                actor,
                reason=f"公示异议成立（查询码{objection.reference}）：{reason}",
                changes={"objection": objection.reference},
            )
            moved = claim_action
        objection.claim_action = moved
        objection.save()
        report_event_record(
            report=report,
            actor=actor,
            action=ReportAction.OBJECTION_FINDING,
            reason=reason,
            changes={
                "objection": objection.reference,
                "claim": claim_id,
                "line": objection.line_id,
                "lodged_at": objection.lodged_at.isoformat(),
                "text": objection.text,
                "outcome": outcome,
                "claim_action": moved,
            },
        )
        notice_generation_bump()
    return objection


def _int_or_none(value: object) -> int | None:
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().isascii() and value.strip().isdigit():
        return int(value.strip())
    return None


def report_draw_spot_checks(
    *, report_id: int, actor: User, share: Decimal | None = None
) -> list[SpotCheck]:
    """Draw a reproducible random sample of the report for document checking."""
    with transaction.atomic():
        report = _lock_report(report_id, actor)
        require(can_draw_spot_checks(actor, report))
        share = Decimal(share if share is not None else settings.SPOT_CHECK_SHARE)
        if not (Decimal("0") < share <= Decimal("1")):
            raise DomainError("invalid_share", "抽查比例应大于0且不超过100%")
        seed = secrets.token_hex(8)
        # the claims still to decide: one returned or rejected before the draw is not
        # checked here (a returned one is drawn, if at all, in the report it comes back
        # in), and a draw spent on them would lower the share checked of the rest
        ids = sorted(
            report.claims.filter(status=workflow.SUBMITTED).values_list("pk", flat=True)
        )
        sample = rules.spot_check_sample(ids, share, seed)
        checks = SpotCheck.objects.bulk_create(
            SpotCheck(report=report, claim_id=claim_id) for claim_id in sample
        )
        report.spot_check_seed = seed
        report.spot_check_share = share
        report.spot_checked_by = actor
        report.spot_checked_at = timezone.now()
        report.save()
        report_event_record(
            report=report,
            actor=actor,
            action=ReportAction.DRAW_SPOT_CHECKS,
            changes={
                "share": str(share),
                "seed": seed,
                "claims": sorted(sample),
                # what was drawn from: spot_check_sample(population, share, seed)
                # redraws ``claims``
                "population": ids,
            },
        )
    return checks


def spot_check_record(
    *,
    spot_check_id: int,
    actor: User,
    result: str,
    note: str = "",
    documents: Collection[int] = (),
) -> SpotCheck:
    """Record a sampled claim's document check, naming the claim's evidence documents
    examined (issue 16: ``documents``, ids of the claim's own documents; their ids and
    SHA-256 go into the claim's and the report's trails with the result)."""
    require(can_record_spot_check(actor))
    if result not in (SpotCheckResult.CONSISTENT, SpotCheckResult.INCONSISTENT):
        raise DomainError("invalid", "核对结果应为“材料相符”或“材料不符”")
    note = (note or "").strip()
    if result == SpotCheckResult.INCONSISTENT:
        note = checked_reason(note, missing="材料不符须说明情况")
    with transaction.atomic():
        # the order of lock_objects: the report (its trail), the claim, the check
        found = SpotCheck.objects.filter(pk=spot_check_id).values("report", "claim")
        if not found:
            raise NotFound("未找到该抽查")
        lock_objects.lock_report(found[0]["report"])
        lock_objects.lock_claim_ids([found[0]["claim"]])
        check = lock_objects.lock_spot_check(spot_check_id)
        require(can_record_spot_check(actor, check))
        examined = _examined_documents(check, documents)
        if result == SpotCheckResult.CONSISTENT and not examined:
            raise _nothing_examined(check)
        _require_opened(actor, examined)
        check.result, check.note = result, note
        check.checked_by, check.checked_at = actor, timezone.now()
        check.save()
        check.documents_examined.set(examined)
        claim_changes: dict[str, Any] = {"spot_check": result}
        report_changes: dict[str, Any] = {
            "spot_check": check.pk,
            "claim": check.claim_id,
            "result": result,
        }
        if examined:
            named = [{"document": d.pk, "sha256": d.sha256} for d in examined]
            claim_changes["documents"] = report_changes["documents"] = named
        record_events(
            [
                ClaimEvent(
                    claim_id=check.claim_id,
                    actor=actor,
                    action=ClaimAction.SPOT_CHECK,
                    from_status=check.claim.status,
                    to_status=check.claim.status,
                    reason=note,
                    changes=claim_changes,
                )
            ]
        )
        report_event_record(
            report=check.report,
            actor=actor,
            action=ReportAction.RECORD_SPOT_CHECK,
            reason=note,
            changes=report_changes,
        )
    return check


def _nothing_examined(check: SpotCheck) -> DomainError:
    """材料相符 stands on documents looked at: one naming none is refused, and a claim
    with no document at all can only be found 材料不符 (the trust review)."""
    has_evidence = Document.objects.filter(claim_id=check.claim_id).exists() or bool(
        class_documents_of_claims([check.claim_id]).get(check.claim_id)
    )
    if not has_evidence:
        return DomainError(
            "nothing_examined",
            f"申报#{check.claim_id}没有任何证明材料，不能登记“材料相符”："
            "请登记“材料不符”并说明缺少哪些材料",
        )
    return DomainError(
        "nothing_examined",
        "登记“材料相符”须勾选已打开核对过的证明材料（至少一份）",
    )


def _require_opened(actor: User, examined: list[Document]) -> None:
    """Each document named as examined was opened by ``actor``, in the role they check
    in, through the audited download (``DocumentDownload``; a GET — HEAD is not
    served): a tick on a file never looked at is no check."""
    if not examined:
        return
    seen = set(
        DocumentDownload.objects.filter(
            # opened as the reviewer: a download made earlier in another role (a
            # clerk's, before a role change) is not this check's look
            actor=actor,
            actor_role=actor.role,
            document__in=[d.pk for d in examined],
        ).values_list("document_id", flat=True)
    )
    unopened = [d.pk for d in examined if d.pk not in seen]
    if unopened:
        raise DomainError(
            "not_opened",
            "材料"
            + "、".join(f"#{pk}" for pk in unopened)
            + "未经您打开查看，不能记为已核对：请先点开材料看过，再登记核对结果",
        )


def _examined_documents(check: SpotCheck, ids: Collection[int]) -> list[Document]:
    """The claim's own documents named by ``ids`` (any other id: 400)."""
    wanted = set(ids)
    if not wanted:
        return []
    # the claim's own documents, and those of the class it came from (issue 16)
    of_class = class_documents_of_claims([check.claim_id]).get(check.claim_id, set())
    found = list(
        Document.objects.filter(
            Q(claim_id=check.claim_id) | Q(pk__in=of_class), pk__in=wanted
        ).order_by("pk")
    )
    if len(found) != len(wanted):
        missing = sorted(wanted - {d.pk for d in found})
        raise DomainError(
            "invalid_document",
            f"所选材料不属于申报#{check.claim_id}："
            + "、".join(f"#{i}" for i in missing),
        )
    return found


def report_close(*, report_id: int, actor: User) -> QuarterlyReport:
    """审结: every claim decided, spot checks drawn and every sampled claim decided."""
    with transaction.atomic():
        report = _lock_report(report_id, actor)
        # submitted, sampled, every claim and every sampled claim decided
        require(can_close_report(actor, report))
        report.status = ReportStatus.CLOSED
        report.closed_by = actor
        report.closed_at = timezone.now()
        report.save()
        report_event_record(report=report, actor=actor, action=ReportAction.CLOSE)
    return report


def claims_approve_bulk(
    *,
    claim_ids: list[int],
    actor: User,
    budget_reason: str = "",
    warnings_confirmed: Collection[int] = (),
) -> list[Claim]:
    """Approve a selection: all of it, or none (the message names the claim that failed).

    Each claim is judged by ``can_decide`` first — its makers and its spot checks read
    once for the whole selection, under the selection's locks — so a claim the
    reviewer made, or whose spot check is pending or found inconsistent, refuses the
    selection, naming it (an inconsistent finding is approved only one by one, with
    its stated reason). A selection that would take a fund past its budget (七(五)) is
    then refused as a whole (``over_budget``, naming every fund) unless
    ``budget_reason`` is given. A selection holding claims with warnings
    (``claims.warnings``: an overlapping training, a reused certificate…) is refused
    (``warnings_unconfirmed``, naming each with its warnings) unless every one of
    them is in ``warnings_confirmed``: the reviewer saw the list and confirmed it.
    """
    ids = sorted(set(claim_ids))
    approved = []
    with transaction.atomic():
        lock_budgets_for(ids)
        # then every person of the selection, in id order, and only then the claims:
        # the import locks people in id order too (altay_skills.lock_objects)
        lock_objects.lock_trainees(
            Claim.objects.filter(pk__in=ids).values_list("trainee_id", flat=True)
        )
        lock_objects.lock_claim_ids(ids)
        selection = {
            c.pk: c
            for c in claims_visible_to(actor)
            .filter(pk__in=ids)
            .select_related("report")
        }
        makers = claim_makers_and_payers(selection.values())
        spot_checks = spot_check_results(selection.values())
        objected = claims_with_open_objections(selection)
        with _naming_the_claim() as naming:
            for claim_id in ids:
                naming.claim_id = claim_id
                claim = selection.get(claim_id)
                if claim is None:
                    raise NotFound("未找到该申报")
                require(
                    can_decide(
                        actor,
                        claim,
                        "approve",
                        makers=makers[claim_id],
                        spot_checks=spot_checks[claim_id],
                        open_objection=claim_id in objected,
                    )
                )
        _require_warnings_confirmed(ids, warnings_confirmed)
        over = [i for i in budget_impact(selection.values()) if i.is_over]
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
        # decided in the order of their summary rows, the order every transaction
        # takes them in: two bulk approvals crossing months (or units, funds, levels)
        # would otherwise each hold rows the other waits for (lock_objects, 6a)
        in_lock_order = sorted(
            ids, key=lambda pk: (claim_summary_place(selection[pk]), pk)
        )
        with _naming_the_claim() as naming:
            for claim_id in in_lock_order:
                naming.claim_id = claim_id
                approved.append(
                    _decide(
                        claim_id,
                        "approve",
                        actor,
                        "",
                        budget_reason=budget_reason,
                        makers=makers[claim_id],
                        spot_checks=spot_checks[claim_id],
                        open_objection=claim_id in objected,
                    )
                )
    return sorted(approved, key=lambda claim: claim.pk)


def _require_warnings_confirmed(
    claim_ids: list[int], confirmed: Collection[int]
) -> None:
    """Approving in bulk passes over each claim's page: the claims with warnings are
    approved only once the reviewer has confirmed them by id (issue 15, 6)."""
    warned = {pk: ws for pk, ws in warnings_for_claims(claim_ids).items() if ws}
    unconfirmed = sorted(set(warned) - set(confirmed))
    if not unconfirmed:
        return
    named = "；".join(
        f"申报#{pk}（{'、'.join(w.label for w in warned[pk])}）" for pk in unconfirmed
    )
    raise Conflict(
        "warnings_unconfirmed",
        f"所选申报中有{len(unconfirmed)}笔有提示，请逐笔核实并确认后再核准：{named}",
        detail=[
            {"claim": pk, "warnings": [w.as_dict() for w in warned[pk]]}
            for pk in unconfirmed
        ],
    )


class _Naming:
    claim_id: int | None = None


@contextmanager
def _naming_the_claim() -> Iterator[_Naming]:
    """A refusal inside a bulk approval names the claim it is about."""
    naming = _Naming()
    try:
        yield naming
    except DomainError as exc:
        exc.message = f"申报#{naming.claim_id}：{exc.message}"
        exc.args = (exc.message,)
        raise


def _lock_report(report_id: int, actor: User) -> QuarterlyReport:
    try:
        report = lock_objects.lock_report(report_id, among=reports_visible_to(actor))
    except (ValueError, TypeError):
        report = None
    if report is None:
        raise NotFound("未找到该报表")
    return report


# --- The backlog (issue 20) ------------------------------------------------------------------
def backlog_compact_waiting() -> int:
    """Fold the backlog rows of every report with more than one (its decisions since
    the last time, a discarded draft's in and out) into one per unit and day
    (``claims.models.backlog_compact``); the beat's, every ten minutes, so the
    dashboards read a few rows per day of a quarter however many decisions were taken
    since. Says how many rows went."""
    reports = (
        BacklogEntry.objects.values("report_id")
        .annotate(rows=Count("pk"))
        .filter(rows__gt=1)
        .values_list("report_id", flat=True)
        .order_by("report_id")
    )
    return sum(backlog_compact(report_id) for report_id in list(reports))
