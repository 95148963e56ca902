"""Every change to a claim: one function each, one transaction, one audit event.

Rows are locked in a fixed order — the trainee(s) by id, then the claim — so that two
clerks of two units filing for one person are served one after the other and the
second sees the first's claim in the person's history (五(二): 3 a year, one trade and
level once). The database constraints are the backstop if anything slips past.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from accounts.models import User
from altay_skills import lock_objects, outbox
from altay_skills.errors import Conflict, DomainError, NotFound
from altay_skills.permissions import require
from altay_skills.plain_text import checked_reason
from claims import evidence, rules, workflow
from claims.audit import record_events
from claims.confirmations import (
    confirmation_issue,
    confirmation_reissue_if_changed,
    confirmations_issue_many,
)
from claims.facts import (
    attendance_of,
    class_seats_of,
    institution_facts,
    policy_terms,
    program_facts,
    trainee_facts,
)
from claims.models import (
    LIMIT_SLOTS,
    BacklogEntry,
    Claim,
    ClaimEvent,
    ClaimSummary,
    Document,
    DocumentDownload,
    DocumentKind,
    backlog_fresh,
    backlog_stored,
    claims_paid_refresh,
    summaries_fresh,
    summaries_stored,
)
from claims.permissions import (
    can_attach_document,
    can_create,
    can_delete,
    can_file_for_unit,
    can_move,
    can_withdraw,
)
from claims.selectors import (
    claim_for,
    claims_visible_to,
    document_for,
    prior_claims_of,
)
from claims.signals import claim_moved
from claims.warnings import ClaimWarning, warnings_for_claims, warnings_for_input
from programs.models import Institution, Level, Program, Trade, Unit
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
    hire_date: date | None = None

    def __post_init__(self) -> None:
        # Program 11 and 以工代训 carry no trade and level (``rules.keeps_trade_level``):
        # one sent anyway is not kept, so that no stored pair counts against a later
        # genuine claim of that trade and level (the database's one live claim per
        # trade and level counts every stored pair). Every path — form, API, import,
        # a class's completion — builds its claim from a ClaimInput.
        if (self.trade_id or self.level_id) and not rules.keeps_trade_level(
            self.program_id, self.work_in_lieu_months or 0
        ):
            object.__setattr__(self, "trade_id", None)
            object.__setattr__(self, "level_id", None)


INPUT_FIELDS = tuple(ClaimInput.__dataclass_fields__)


def _input_values(data: ClaimInput) -> dict[str, Any]:
    """The fields as a dict: every one is a scalar, so ``asdict``'s deep copy is waste
    (it was 2.7 s of an import of 5,000 claims)."""
    return {name: getattr(data, name) for name in INPUT_FIELDS}


# --- Judging -----------------------------------------------------------------------------
def judge(
    data: ClaimInput,
    *,
    claim_id: int | None = None,
    attendance: rules.AttendanceFacts | None = None,
) -> rules.Decision:
    """The decision for these facts, with the person's history and the policy as they
    stand in the database now. Raises ``DomainError`` for a reference that does not exist.
    A claim that came from a training class is judged with that class's attendance
    (given, or found for a stored claim through ``claims.facts.attendance_of``).
    """
    if attendance is None and claim_id is not None:
        attendance = attendance_of(claim_id)
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
        attendance=attendance,
        # by hand: the classes the person is rostered on (a class's claim has its own)
        class_seats=(
            class_seats_of([trainee.pk]).get(trainee.pk, ())
            if attendance is None
            else ()
        ),
    )
    return rules.decide(
        facts,
        trainee=trainee_facts(trainee),
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
    attendance: rules.AttendanceFacts | None = None,
    class_seats: tuple[rules.ClassSeat, ...] = (),
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
        hire_date=data.hire_date,
        attendance=attendance,
        institution_id=institution.pk,
        class_seats=class_seats,
    )


def claim_check(*, data: ClaimInput, actor: User) -> rules.Decision:
    """The dry run: judge without storing anything."""
    require(can_file_for_unit(actor, data.unit_id))
    return judge(data)


def input_warnings(
    data: ClaimInput, *, claim_id: int | None = None
) -> list[ClaimWarning]:
    """The warnings of a claim as entered, beside its decision (``claims.warnings``);
    ``claim_id``: the claim being edited, left out of the comparison."""
    return warnings_for_input(
        trainee_id=data.trainee_id,
        training_start=data.training_start,
        training_end=data.training_end,
        certificate_number=data.certificate_number,
        claim_id=claim_id,
    )


def input_of(claim: Claim) -> ClaimInput:
    return ClaimInput(**{name: getattr(claim, name) for name in INPUT_FIELDS})


# --- Transitions ----------------------------------------------------------------------------
def claim_create(
    *,
    data: ClaimInput,
    actor: User,
    attendance: rules.AttendanceFacts | None = None,
    reason: str = "",
) -> Claim:
    """A clerk saves a draft; it may be saved whatever its decision says. A training
    class's completion creates its claims here too (``classes.services``), with the
    attendance of each person and the class named in ``reason``."""
    require(can_create(actor, data.unit_id))
    _require_ordered_dates(data)
    with transaction.atomic():
        decision = judge(data, attendance=attendance)
        claim = Claim(**asdict(data), created_by=actor)
        _apply_decision(claim, decision)
        claim.save()
        claim.policy_entries.set(decision.policy_entry_ids)
        _record(
            claim,
            actor,
            "create",
            "",
            workflow.DRAFT,
            reason=reason,
            changes=_as_changes({}, data),
        )
    return claim


def claim_update(*, claim_id: int, data: ClaimInput, actor: User) -> Claim:
    """A clerk changes a draft or a returned claim; its decision is judged again."""
    require(can_file_for_unit(actor, data.unit_id))
    _require_ordered_dates(data)
    try:
        with transaction.atomic():
            claim = lock_claim(claim_id, actor, also_trainee=data.trainee_id)
            transition = _transition(claim, "edit", actor)
            # a class's claim keeps the class's person, payee, dates and level
            refusal = rules.class_fact_refusal(
                attendance_of(claim.pk), _input_values(data)
            )
            if refusal is not None:
                raise Conflict("class_fact_fixed", refusal)
            before = input_of(claim)
            for name, value in asdict(data).items():
                setattr(claim, name, value)
            decision = judge(data, claim_id=claim.pk)
            _apply_decision(claim, decision)
            changes = _as_changes(asdict(before), data)
            # the trainee answered to other facts: asked again, under a new code
            confirmation_reissue_if_changed(claim=claim, changes=changes, actor=actor)
            if claim.status in rules.COUNTING_STATUSES:
                # A returned claim still holds a slot of its year: a new end date
                # (or program, or person) moves it, or refuses if that year is full.
                _take_limit_slot(claim)
            claim.save()
            claim.policy_entries.set(decision.policy_entry_ids)
            _record(
                claim, actor, "edit", claim.status, transition.target, changes=changes
            )
            # a returned claim lowered below an advance paid on it owes the difference;
            # the money stage may refuse a change of who is paid (``changes``)
            claim_moved.send(
                sender=Claim,
                claim=claim,
                action="edit",
                actor=actor,
                reason="",
                changes=changes,
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
            claim = lock_claim(claim_id, actor)
            transition = _transition(claim, "submit", actor)
            if claim.amount_requested <= 0:
                # a claim of nothing would take one of the person's three subsidies of
                # the year, and their trade and level for good (a class's claim of a
                # person it cannot pay is saved at 0, and refused by the rules too)
                raise DomainError(
                    "invalid_amount",
                    "申请金额应大于0元，未能提交（不再申报的请撤回）",
                )
            decision = judge(input_of(claim), claim_id=claim.pk)
            if not decision.eligible:
                raise _Refused(decision)
            from_status = claim.status
            _apply_decision(claim, decision)
            claim.status = transition.target
            claim.submitted_at = timezone.now()
            # a corrected returned claim waits for a review of its own: the return's
            # reviewer and time stay in its trail, not as its 审核人/审核时间
            claim.reviewed_by = None
            claim.reviewed_at = None
            _take_limit_slot(claim)
            claim.save()
            claim.policy_entries.set(decision.policy_entry_ids)
            _record(claim, actor, "submit", from_status, claim.status)
            _queue_claim_checks([claim.pk])
            # the trainee is asked "was this you?" (issue 17); once per claim
            confirmation_issue(claim=claim, actor=actor)
    except _Refused as refused:
        _keep_decision(claim_id, actor)
        warnings = warnings_for_claims([claim_id])[claim_id]
        raise Conflict(
            "not_eligible",
            "申报不符合补贴条件，未能提交",
            detail={
                **refused.decision.as_dict(),
                "warnings": [w.as_dict() for w in warnings],
            },
        ) from None
    except IntegrityError as exc:
        raise _limit_conflict(exc) from None
    return claim


# --- Internals -------------------------------------------------------------------------------
class _Refused(Exception):
    def __init__(self, decision: rules.Decision) -> None:
        self.decision = decision


def _keep_decision(claim_id: int, actor: User) -> None:
    """A refused submit rolled its transaction back: the claim is judged again under
    its lock, in a transaction of its own, and the decision kept, so that its page and
    the lists say why now (the draft showed the reason it was saved with, not the one
    that refused it). Judged again, not the refusal's decision: another clerk may have
    corrected the draft in between. A re-judging of a claim that did not move: no
    event; a claim that moved, or that cannot be locked now, is left alone (the clerk
    still gets the refusal)."""
    try:
        with transaction.atomic():
            claim = lock_claim(claim_id, actor)
            if claim.status not in (workflow.DRAFT, workflow.RETURNED):
                return
            decision = judge(input_of(claim), claim_id=claim.pk)
            _apply_decision(claim, decision)
            claim.save()
            claim.policy_entries.set(decision.policy_entry_ids)
    except DomainError:
        return


def claim_withdraw(*, claim_id: int, actor: User, reason: str = "") -> Claim:
    """Withdraw a claim: from a draft report it leaves the report; once the report has
    gone to the prefecture it cannot be withdrawn."""
    with transaction.atomic():
        claim = lock_claim(claim_id, actor)
        transition = claim_transition(claim, "withdraw", actor, reason=reason)
        require(can_withdraw(actor, claim))  # not once its report has gone on
        if claim.report_id is not None:
            claim.report = None  # leaves the unit's draft report
        claim_move(claim, "withdraw", transition, actor, reason=reason)
    return claim


def claim_delete(*, claim_id: int, actor: User) -> Claim:
    """The clerk deletes a draft (删除草稿): it leaves every list, count and report.
    The trail cannot be deleted (migration 0006), so the row stays, status
    ``deleted``, with the event that says who deleted it and when."""
    with transaction.atomic():
        claim = lock_claim(claim_id, actor)
        require(can_delete(actor, claim))
        transition = _transition(claim, "delete", actor)
        claim_move(claim, "delete", transition, actor)
    return claim


def claim_transition(
    claim: Claim, action: str, actor: User, *, reason: str = ""
) -> workflow.Transition:
    """The transition ``action`` takes the claim through, refused when the table has
    none for its status, the actor's role may not take it, or it needs a reason."""
    transition = _transition(claim, action, actor)
    if transition.needs_reason:
        checked_reason(reason, missing=workflow.REVIEW_REASON)
    return transition


def claim_move(
    claim: Claim,
    action: str,
    transition: workflow.Transition,
    actor: User,
    *,
    reason: str = "",
    changes: dict[str, Any] | None = None,
) -> ClaimEvent:
    """Apply a transition to a claim locked by ``lock_claim``: its status, its yearly
    slot (freed when it stops counting), the save and the audit event (with what the
    later stage asks it to keep: ``changes``), then tell the later stages
    (``claim_moved``) inside the same transaction."""
    from_status = claim.status
    claim.status = transition.target
    if claim.status not in rules.COUNTING_STATUSES:
        claim.limit_year = claim.limit_slot = None
    claim.save()
    event = _record(
        claim,
        actor,
        action,
        from_status,
        claim.status,
        reason=(reason or "").strip(),
        changes=changes,
    )
    claim_moved.send(
        sender=Claim, claim=claim, action=action, actor=actor, reason=event.reason
    )
    return event


def _get(model: Any, pk: object, message: str) -> Any:
    try:
        return model.objects.get(pk=pk)
    except (model.DoesNotExist, ValueError, TypeError):
        raise DomainError("invalid_reference", message) from None


def _require_ordered_dates(data: ClaimInput) -> None:
    """A draft may be refused by the rules, but not be nonsense: end before start."""
    if data.training_end < data.training_start:
        raise DomainError("invalid_dates", "培训结束日期早于开始日期")


def lock_claim(claim_id: int, actor: User, *, also_trainee: int | None = None) -> Claim:
    """Lock the trainee row(s), then the claim: always in that order
    (``altay_skills.lock_objects``)."""
    visible = claims_visible_to(actor)
    current = visible.filter(pk=claim_id).values_list("trainee_id", flat=True).first()
    if current is None:
        raise NotFound("未找到该申报")
    locked = lock_objects.lock_trainees(
        {t for t in (current, also_trainee) if t is not None}
    )
    if also_trainee is not None and also_trainee not in locked:
        raise DomainError("invalid_reference", "培训人员不存在")
    claim = lock_objects.lock_claim(claim_id)
    if claim.trainee_id != current:  # changed between the read and the lock
        raise Conflict("concurrent_change", "该申报刚被他人修改，请刷新后重试")
    return claim


def _transition(claim: Claim, action: str, actor: User) -> workflow.Transition:
    """The table's transition, once ``can_move`` allows it (409 for the status, 403
    for the role)."""
    require(can_move(actor, claim, action))
    transition = workflow.transition_for(claim.status, action)
    assert transition is not None  # can_move refuses a status without it
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
        return Conflict("annual_limit", f"每人每年享受培训补贴不超过{LIMIT_SLOTS}次")
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


# --- Evidence (issue 16) ------------------------------------------------------------------
def claim_attach_document(
    *, claim_id: int, kind: str | None, upload: Any, actor: User
) -> Document:
    """The clerk attaches a document to a claim of their unit: checked by content
    (``claims.evidence``), stored, recorded, and its SHA-256 made a link of the claim's
    hash chain — an ``attach_document`` event, from and to the claim's status, whose
    changes name the document, its kind and its hash — all in one transaction. A file
    stored for a transaction that fails is removed again."""
    # Scope (404) and permission (403/409) before the body and the file are read.
    require(can_attach_document(actor, claim_for(actor, claim_id)))
    if kind not in DocumentKind.values:
        raise DomainError(
            "invalid_kind",
            "材料类别无效，应为："
            + "、".join(f"{v}（{label}）" for v, label in DocumentKind.choices),
        )
    if upload is None or not hasattr(upload, "read"):
        raise DomainError("file_required", "请选择要上传的文件（file）")
    checked = evidence.checked_upload(upload)
    stored = evidence.store(checked, folder=f"claims/{claim_id}")
    try:
        with transaction.atomic():
            claim = lock_claim(claim_id, actor)
            require(can_attach_document(actor, claim))
            document = Document(
                unit_id=claim.unit_id,
                claim=claim,
                kind=kind,
                content_type=checked.content_type,
                sha256=checked.sha256,
                size=checked.size,
                stored_as=stored,
                original_name=checked.original_name,
                uploaded_by=actor,
            )
            document.save()
            _record(
                claim,
                actor,
                "attach_document",
                claim.status,
                claim.status,
                changes=document_changes(document),
            )
    except BaseException:
        evidence.discard(stored)
        raise
    return document


def document_changes(document: Document) -> dict[str, Any]:
    """What the chain keeps of a document: enough for ``verify_audit`` to hold the
    stored file and the row to it."""
    return {
        "document": document.pk,
        "kind": document.kind,
        "sha256": document.sha256,
        "size": document.size,
        "content_type": document.content_type,
    }


def document_download(
    *, document_id: int, actor: User, address: str | None = None
) -> tuple[Document, Any]:
    """Open a document for ``actor`` (another unit's: 404) and record the download
    (``DocumentDownload``) before a byte is sent. A file missing from the store is a
    404 that says so (``verify_audit`` names it too)."""
    document = document_for(actor, document_id)
    try:
        handle = evidence.open_stored(document.stored_as)
    except (FileNotFoundError, OSError):
        raise NotFound("该材料的文件已不在存储中，请联系管理员") from None
    DocumentDownload.objects.create(
        document=document, actor=actor, actor_role=actor.role, address=address
    )
    return document, handle


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
    require(can_create(actor))
    for data, decision in items:
        require(can_file_for_unit(actor, data.unit_id))
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
        assert year is not None  # a slot is held with its year
        assert slot is not None
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
                    raise Conflict(
                        "annual_limit", f"每人每年享受培训补贴不超过{LIMIT_SLOTS}次"
                    )
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
                confirmations_issue_many(claims=claims, actor=actor)
    except IntegrityError as exc:
        raise _limit_conflict(exc) from None
    return claims


def _queue_claim_checks(claim_ids: list[int]) -> None:
    """In the submitting transaction: the reviewers' checks of the claims, queued
    through the outbox so that a broker that is down loses nothing."""
    outbox.enqueue("reporting.tasks.check_submitted_claims", claim_ids=claim_ids)


# --- The claim summaries (issue 20) -----------------------------------------------------------
@dataclass(frozen=True)
class SummaryRebuild:
    rows: int  # summary rows written
    differed: int  # keys whose kept figures were not the claims' own (0: all equal)
    paid_differed: int = 0  # claims whose ``paid`` was not their payments' sum
    backlog_differed: int = 0  # backlog keys (report, unit, day) not the claims' own


def keys_differing(fresh: Mapping[Any, Any], stored: Mapping[Any, Any]) -> int:
    """How many keys the kept figures have wrong (missing, extra or other figures)."""
    return sum(
        1 for key in fresh.keys() | stored.keys() if fresh.get(key) != stored.get(key)
    )


def summaries_rebuild() -> SummaryRebuild:
    """Recompute every claim's ``paid`` from its payments, then every claim summary
    from the claims under the summaries' table lock (no transition adds to a row while
    it is rewritten), and say how many of each differed. The claims come first, as in
    every transaction (``altay_skills/lock_objects.py``: 6 before 6a)."""
    with transaction.atomic():
        paid_differed = claims_paid_refresh()
        lock_objects.lock_claim_summaries()
        fresh = summaries_fresh()
        stored = summaries_stored()
        differed = keys_differing(fresh, stored)
        ClaimSummary.objects.all().delete()
        ClaimSummary.objects.bulk_create(
            [
                ClaimSummary(
                    month=key[0],
                    unit_id=key[1],
                    program_id=key[2],
                    fund=key[3],
                    status=key[4],
                    level=key[5],
                    claims=figures[0],
                    passed=figures[1],
                    employed=figures[2],
                    requested=figures[3],
                    approved=figures[4],
                    amount=figures[5],
                    paid=figures[6],
                )
                for key, figures in sorted(fresh.items())
            ],
            batch_size=1000,
        )
        backlog_differed = backlog_rebuild()
    return SummaryRebuild(
        rows=len(fresh),
        differed=differed,
        paid_differed=paid_differed,
        backlog_differed=backlog_differed,
    )


def backlog_rebuild() -> int:
    """Rewrite the backlog (``BacklogEntry``) from the claims, one row per report, unit
    and day, under its table lock, and say how many keys differed (0: it was right).
    Inside ``summaries_rebuild``'s transaction, or alone."""
    with transaction.atomic():
        lock_objects.lock_backlog()
        fresh = backlog_fresh()
        stored = backlog_stored()
        differed = keys_differing(fresh, stored)
        BacklogEntry.objects.all().delete()
        BacklogEntry.objects.bulk_create(
            [
                BacklogEntry(
                    report_id=report, unit_id=unit, day=day, claims=n, amount=amount
                )
                for (report, unit, day), (n, amount) in sorted(fresh.items())
            ],
            batch_size=1000,
        )
    return differed
