"""Every change to a training class: one function each, one transaction, one audited
``ClassEvent``.

Rows are locked in the one order (``altay_skills.lock_objects``): the class first,
then its people, then the claims its completion creates. Who may act is
``classes.permissions``; the figures (roster size, filing lead days, attendance) are
``classes.rules``; the claims are judged and created by ``claims.services`` exactly as
a claim entered by hand, with the person's attendance as one more fact.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import date
from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from accounts.models import User
from altay_skills import lock_objects
from altay_skills.errors import Conflict, DomainError, NotFound
from altay_skills.permissions import require
from altay_skills.plain_text import checked_reason
from claims import evidence, workflow
from claims import rules as claim_rules
from claims.confirmations import confirmation_issue
from claims.facts import policy_terms, program_facts, trainee_facts
from claims.models import Claim, Document, DocumentKind, Employment
from claims.selectors import prior_claims_of
from claims.services import (
    ClaimInput,
    claim_create,
    claim_facts,
    document_changes,
    judge,
)
from claims.validators import training_date
from classes import permissions, rules
from classes.events import class_event_record
from classes.models import ClassDocument, ClassSession, RosterLine, TrainingClass
from classes.selectors import (
    attendance_facts,
    attended_hours_of,
    class_for,
    class_seats_of_people,
    classes_visible_to,
    live_roster,
    roster_size_at,
    sessions_span,
)
from classes.signals import class_completed
from classes.warnings import overlapping_classes, roster_ages
from programs.models import Institution, Level, Program, Trade, Unit
from trainees.models import Trainee
from trainees.selectors import trainees_in_scope


@dataclass(frozen=True)
class ClassInput:
    """A class as drafted (api-contract.md "Training classes"), already parsed."""

    institution_id: int
    program_id: int
    unit_id: str
    planned_start: date
    planned_end: date
    hours: Decimal
    location: str
    trade_id: str | None = None
    level_id: str | None = None
    project_based: bool = False
    teachers: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class ClassResult:
    """One person's result at completion."""

    trainee_id: int
    passed: bool
    certificate_number: str = ""
    level_id: str | None = None
    employment: str = Employment.NONE


def today() -> date:
    return timezone.localdate()


# --- Drafting ----------------------------------------------------------------------------
def class_create(*, data: ClassInput, actor: User) -> TrainingClass:
    """Draft a class (status ``draft``)."""
    require(
        permissions.can_create(
            actor, unit_id=data.unit_id, institution_id=data.institution_id
        )
    )
    if data.planned_end < data.planned_start:
        raise DomainError("invalid_dates", "计划结业日期早于开班日期")
    for day in (data.planned_start, data.planned_end):
        try:
            training_date(day)
        except ValidationError as exc:
            raise DomainError("invalid_dates", " ".join(exc.messages)) from None
    if data.hours <= 0:
        raise DomainError("invalid_hours", "计划学时须大于0")
    program = _get(Program, data.program_id, "项目不存在")
    if not program.claimable:
        raise DomainError(
            "program_not_claimable",
            f"项目{program.number}“{program.name}”不按人申报补贴，不能开办补贴培训班",
        )
    _get(Institution, data.institution_id, "培训机构不存在")
    _get(Unit, data.unit_id, "备案单位不存在")
    if data.trade_id:
        _get(Trade, data.trade_id, "职业(工种)不存在")
    if data.level_id:
        _get(Level, data.level_id, "等级不存在")
    with transaction.atomic():
        cls = TrainingClass.objects.create(
            institution_id=data.institution_id,
            program_id=data.program_id,
            trade_id=data.trade_id,
            level_id=data.level_id,
            unit_id=data.unit_id,
            project_based=data.project_based,
            planned_start=data.planned_start,
            planned_end=data.planned_end,
            hours=data.hours,
            location=data.location,
            teachers=list(data.teachers),
            created_by=actor,
        )
        class_event_record(
            training_class=cls,
            actor=actor,
            action="create",
            from_status="",
            changes={"class": _describe(cls)},
        )
    return cls


def class_roster_set(
    *, class_id: int, trainee_ids: list[int], actor: User
) -> TrainingClass:
    """Set the roster: freely while the class is a draft (or returned); once accepted,
    only before it starts, as an amendment (a trainee leaves, one joins). Each live
    line is pre-checked again (``roster_precheck``)."""
    wanted = list(dict.fromkeys(trainee_ids))  # in order, once each
    refusal = rules.roster_too_large(len(wanted))
    if refusal:
        raise DomainError("roster_too_large", refusal)
    with transaction.atomic():
        cls = _lock(class_id, actor)
        require(permissions.can_set_roster(actor, cls))
        amending = cls.status in rules.ROSTER_AMENDABLE
        if amending and today() >= cls.planned_start:
            raise Conflict("roster_frozen", "培训班已到开班日期，名单不能再变更")
        current = {line.trainee_id: line for line in live_roster(cls.pk)}
        # Nobody is put on a roster by walking ids: the people the actor may open
        # (found by their full ID number, their unit's, ...), and those already on it.
        people = {
            t.pk: t
            for t in Trainee.objects.filter(pk__in=wanted).filter(
                pk__in=trainees_in_scope(actor).values("pk")
            )
        }
        people.update(
            {
                line.trainee_id: line.trainee
                for line in current.values()
                if line.trainee_id in wanted
            }
        )
        if amending and cls.accepted_at is not None:
            # an amendment replaces people, one for one: the clerk accepted this many
            accepted = roster_size_at(cls.pk, cls.accepted_at)
            if len(wanted) > accepted:
                raise Conflict(
                    "roster_frozen",
                    f"备案后的名单变更只能替换人员，不能超过备案时的{accepted}人"
                    f"（现为{len(wanted)}人）；需增加人员的，请另行起草培训班报备",
                )
        missing = [pk for pk in wanted if pk not in people]
        if missing:
            raise DomainError(
                "invalid_reference",
                f"培训人员不存在：{', '.join(str(pk) for pk in missing)}",
            )
        lock_objects.lock_trainees(wanted)
        removed = [pk for pk in current if pk not in people]
        added = [pk for pk in wanted if pk not in current]
        now = timezone.now()
        for pk in removed:
            line = current.pop(pk)
            line.removed_at = now
            line.save(update_fields=["removed_at"])
        for pk in added:
            current[pk] = RosterLine.objects.create(
                training_class=cls, trainee=people[pk], added_at=now
            )
        overlaps = overlapping_classes(cls, list(current))
        ages = roster_ages(cls, list(current))
        for line in current.values():
            precheck = roster_precheck(cls, people[line.trainee_id]).as_dict()
            warnings = list(overlaps.get(line.trainee_id, []))
            if line.trainee_id in ages:
                warnings.append(ages[line.trainee_id].as_dict())
            precheck["warnings"] = warnings
            line.precheck = precheck
            line.save(update_fields=["precheck"])
        if amending and not (added or removed):
            return cls
        changes = {"added": added, "removed": removed, "size": len(current)}
        if amending and added:
            # someone new whom no checker saw: the class is filed again, for a clerk
            # who did not make it to accept before it starts
            _move(cls, "amend", actor, fields=[], changes=changes)
            return cls
        class_event_record(
            training_class=cls,
            actor=actor,
            action="amend" if amending else "roster",
            from_status=cls.status,
            changes=changes,
        )
    return cls


def claims_to_come(cls: TrainingClass, trainee_id: int) -> list[claim_rules.PriorClaim]:
    """The person's places on other accepted classes' rosters whose claims are still to
    come, as the claims they will be: a person on two classes of one trade and level
    was counted in both advances (五(二) 同一职业同一等级不可重复享受), and a third class
    in a year is the fourth subsidy."""
    return [
        claim_rules.PriorClaim(
            claim_id=0,
            program=seat.program,
            status=workflow.SUBMITTED,
            training_end=seat.planned_end,
            trade=seat.trade,
            level=seat.level,
            unit_name=f"培训班#{seat.class_id}名单",
        )
        for seat in class_seats_of_people([trainee_id]).get(trainee_id, [])
        if seat.class_id != cls.pk and not seat.claimed
    ]


def roster_precheck(cls: TrainingClass, trainee: Trainee) -> claim_rules.Decision:
    """The decision the person's claim would get if the class completed as planned:
    on its planned end, passed, with a certificate and a job, at full attendance —
    judged by the claims' rules with the person's live history, so a fourth claim in a
    year or a repeated trade and level shows before the training, not after."""
    data = _claim_input(cls, trainee.pk, amount=Decimal("0.00"))
    data = replace(
        data, passed=True, certificate_number="（预计）", employment=Employment.EMPLOYED
    )
    full = attendance_facts(cls, trainee.pk, {trainee.pk: cls.hours})
    facts = claim_facts(
        data,
        program=cls.program,
        institution=cls.institution,
        employer=None,
        trade=cls.trade,
        level=cls.level,
        attendance=full,
    )
    context: dict[str, Any] = {
        "trainee": trainee_facts(trainee),
        "program": program_facts(cls.program),
        "history": prior_claims_of(trainee.pk) + claims_to_come(cls, trainee.pk),
        "policy": policy_terms(),
        # judged as on the planned end: "not ended yet" is not what a pre-check asks
        "today": max(cls.planned_end, today()),
    }
    first = claim_rules.decide(facts, **context)
    if first.cap is None:
        return first
    return claim_rules.decide(replace(facts, amount_requested=first.cap), **context)


# --- Filing and acceptance ----------------------------------------------------------------
def class_file(*, class_id: int, actor: User) -> TrainingClass:
    """File the class with its unit (报备), no later than the lead days before start."""
    with transaction.atomic():
        cls = _lock(class_id, actor)
        require(permissions.can_file(actor, cls))
        _require_in_time(cls)
        if not live_roster(cls.pk).exists():
            raise DomainError("roster_empty", "培训班名单为空，不能报备")
        cls.filed_at = timezone.now()
        cls.return_reason = ""
        _move(cls, "file", actor, fields=["filed_at", "return_reason"])
    return cls


def class_accept(*, class_id: int, actor: User) -> TrainingClass:
    """The unit's clerk accepts the filing (备案); the roster is frozen from now on
    (a change before the start is an audited amendment)."""
    with transaction.atomic():
        cls = _lock(class_id, actor)
        require(permissions.can_accept(actor, cls))
        if not cls.events.filter(action="accept").exists():
            # an amendment accepted again: the class itself was filed in time
            _require_in_time(cls)
        cls.accepted_by = actor
        cls.accepted_at = timezone.now()
        _move(cls, "accept", actor, fields=["accepted_by", "accepted_at"])
    return cls


def class_return(*, class_id: int, actor: User, reason: str) -> TrainingClass:
    """The unit's clerk returns the filing with a reason; it may be corrected and filed
    again."""
    reason = checked_reason(reason, missing="退回须填写理由")
    with transaction.atomic():
        cls = _lock(class_id, actor)
        require(permissions.can_return(actor, cls))
        cls.return_reason = reason
        _move(cls, "return", actor, fields=["return_reason"], reason=reason)
    return cls


def class_start(*, class_id: int, actor: User) -> TrainingClass:
    """The accepted class starts (开班), not before its planned start and not after
    its planned end: started afterwards, its whole plan could be typed in as
    sessions that never ran as filed (cancel it and file it again)."""
    with transaction.atomic():
        cls = _lock(class_id, actor)
        require(permissions.can_start(actor, cls))
        refusal = rules.start_refusal(
            today=today(), planned_start=cls.planned_start, planned_end=cls.planned_end
        )
        if refusal is not None:
            raise Conflict(*refusal)
        cls.started_at = timezone.now()
        cls.started_on = today()
        _move(cls, "start", actor, fields=["started_at", "started_on"])
    return cls


def class_cancel(*, class_id: int, actor: User, reason: str) -> TrainingClass:
    """Cancel a class that has not started (草稿, 已报备, 已退回, 已备案), with a reason.
    Its roster and trail stay; nothing is claimed from it."""
    reason = checked_reason(reason, missing="取消须填写理由")
    with transaction.atomic():
        cls = _lock(class_id, actor)
        require(permissions.can_cancel(actor, cls))
        _move(cls, "cancel", actor, fields=[], reason=reason)
    return cls


# --- Sessions ----------------------------------------------------------------------------
def class_session_record(
    *,
    class_id: int,
    on: date,
    hours: Decimal,
    present: list[int],
    actor: User,
    sign_in_sheet: Any = None,
    sign_in_sheet_id: int | None = None,
) -> ClassSession:
    """One session of a running class and who was present (people on its roster),
    with its sign-in sheet if one is given: a file uploaded with the session (checked
    and stored as every document, ``class_attach_document``) or a sheet already
    uploaded for the class and not yet tied to a session (``sign_in_sheet_id``). All
    or none: a refused sheet records no session."""
    if hours <= 0:
        raise DomainError("invalid_hours", "学时须大于0")
    if sign_in_sheet is not None and sign_in_sheet_id is not None:
        raise DomainError(
            "invalid_sign_in_sheet", "签到表只能上传一个文件或选择一份已上传的材料"
        )
    if sign_in_sheet is not None:
        require(permissions.can_record_session(actor, class_for(actor, class_id)))
        checked = evidence.checked_upload(sign_in_sheet)
        stored = evidence.store(checked, folder=f"classes/{class_id}")
        try:
            return _session_record(
                class_id=class_id,
                on=on,
                hours=hours,
                present=present,
                actor=actor,
                sheet=(checked, stored),
            )
        except BaseException:
            evidence.discard(stored)
            raise
    return _session_record(
        class_id=class_id,
        on=on,
        hours=hours,
        present=present,
        actor=actor,
        sheet_id=sign_in_sheet_id,
    )


def _session_record(
    *,
    class_id: int,
    on: date,
    hours: Decimal,
    present: list[int],
    actor: User,
    sheet: tuple[evidence.CheckedFile, str] | None = None,
    sheet_id: int | None = None,
) -> ClassSession:
    with transaction.atomic():
        cls = _lock(class_id, actor)
        require(permissions.can_record_session(actor, cls))
        if not cls.planned_start <= on <= cls.planned_end:
            raise DomainError(
                "session_outside_class",
                f"课次日期{on.isoformat()}不在培训班计划日期"
                f"{cls.planned_start.isoformat()}至{cls.planned_end.isoformat()}内",
            )
        if on > today():
            raise DomainError("session_in_future", "不能记录尚未发生的课次")
        if cls.started_on is not None and on < cls.started_on:
            raise DomainError(
                "session_before_start",
                f"课次日期{on.isoformat()}早于开班日期"
                f"{cls.started_on.isoformat()}，开班前的课不能记录",
            )
        sessions = ClassSession.objects.filter(training_class=cls)
        present_ids = list(dict.fromkeys(present))
        if rules.is_same_session(
            hours=hours,
            present=present_ids,
            recorded=[
                (s.hours, [p.pk for p in s.present.all()])
                for s in sessions.filter(date=on).prefetch_related("present")
            ],
        ):
            raise Conflict(
                "session_duplicate",
                f"{on.isoformat()}已记录一次{hours}学时、出勤人员相同的课次，未重复记录"
                "（同一天上午、下午的课请合并为一次记录，学时相加）",
            )
        refusal = rules.session_hours_refusal(
            hours=hours,
            same_day=sum(
                sessions.filter(date=on).values_list("hours", flat=True), Decimal(0)
            ),
            recorded=sum(sessions.values_list("hours", flat=True), Decimal(0)),
            planned=Decimal(cls.hours),
            on=on,
        )
        if refusal is not None:
            raise DomainError("session_hours_exceeded", refusal)
        roster = set(live_roster(cls.pk).values_list("trainee_id", flat=True))
        outsiders = [pk for pk in present_ids if pk not in roster]
        if outsiders:
            raise DomainError(
                "not_on_roster",
                f"出勤人员不在培训班名单上：{', '.join(str(pk) for pk in outsiders)}",
            )
        # a person's day holds 24 hours in every class: their rows locked (after the
        # class: the lock order), so two classes cannot both take the same hours
        lock_objects.lock_trainees(present_ids)
        refusal = rules.person_day_refusal(
            hours=hours,
            on=on,
            elsewhere=[
                (person, class_id, done)
                for person, class_id, done in ClassSession.objects.filter(
                    date=on, present__in=present_ids
                ).values_list("present", "training_class_id", "hours")
            ],
            names=dict(
                Trainee.objects.filter(pk__in=present_ids).values_list("pk", "name")
            ),
        )
        if refusal is not None:
            raise DomainError("session_hours_exceeded", refusal)
        named = None
        if sheet_id is not None:
            named = (
                ClassDocument.objects.select_for_update()
                .select_related("document")
                .filter(training_class=cls, document_id=sheet_id)
                .first()
            )
            if named is None or named.document.kind != DocumentKind.ATTENDANCE:
                raise DomainError(
                    "invalid_sign_in_sheet", f"材料#{sheet_id}不是本培训班的签到表"
                )
            if named.session_id is not None:
                raise DomainError(
                    "invalid_sign_in_sheet",
                    f"签到表材料#{sheet_id}已用于另一课次，每份签到表只记录一次课",
                )
        session = ClassSession.objects.create(
            training_class=cls, date=on, hours=hours, recorded_by=actor
        )
        session.present.set(present_ids)
        changes: dict[str, Any] = {
            "session": session.pk,
            "date": on.isoformat(),
            "hours": str(hours),
            "present": present_ids,
        }
        if named is not None:
            named.session = session
            named.save(update_fields=["session"])
            changes["sign_in_sheet"] = named.document_id
            changes["sha256"] = named.document.sha256
        class_event_record(
            training_class=cls,
            actor=actor,
            action="session",
            from_status=cls.status,
            changes=changes,
        )
        if sheet is not None:
            _attach(
                cls,
                checked=sheet[0],
                stored=sheet[1],
                kind=DocumentKind.ATTENDANCE,
                session=session,
                actor=actor,
            )
    return session


# --- Evidence (issue 16) -------------------------------------------------------------------
def class_attach_document(
    *,
    class_id: int,
    kind: str | None,
    upload: Any,
    actor: User,
    session_id: int | None = None,
) -> Document:
    """Attach a document to a class (a sign-in sheet to one of its sessions): the same
    checks and store as a claim's (``claims.evidence``, one code path), the record a
    ``claims.Document`` of the class's unit tied to the class (``ClassDocument``), its
    SHA-256 a link of the class's hash chain (an ``attach_document`` event), all in
    one transaction; a file stored for a transaction that fails is removed again."""
    # Scope (404) and permission (403/409) before the body and the file are read.
    require(permissions.can_attach_document(actor, class_for(actor, class_id)))
    if kind not in DocumentKind.values:
        raise DomainError(
            "invalid_kind",
            "材料类别无效，应为："
            + "、".join(f"{v}（{label}）" for v, label in DocumentKind.choices),
        )
    if upload is None or not hasattr(upload, "read"):
        raise DomainError("file_required", "请选择要上传的文件（file）")
    checked = evidence.checked_upload(upload)
    stored = evidence.store(checked, folder=f"classes/{class_id}")
    try:
        with transaction.atomic():
            cls = _lock(class_id, actor)
            require(permissions.can_attach_document(actor, cls))
            session = None
            if session_id is not None:
                session = ClassSession.objects.filter(
                    training_class=cls, pk=session_id
                ).first()
                if session is None:
                    raise DomainError(
                        "invalid_reference", f"课次#{session_id}不属于本培训班"
                    )
                if kind != DocumentKind.ATTENDANCE:
                    raise DomainError("invalid_kind", "只有签到表可以关联到课次")
            document = _attach(
                cls,
                checked=checked,
                stored=stored,
                kind=kind,
                session=session,
                actor=actor,
            )
    except BaseException:
        evidence.discard(stored)
        raise
    return document


def _attach(
    cls: TrainingClass,
    *,
    checked: evidence.CheckedFile,
    stored: str,
    kind: str,
    session: ClassSession | None,
    actor: User,
) -> Document:
    """Record a checked, stored file as the class's document and chain its hash (the
    caller holds the class's lock, in its transaction)."""
    document = Document(
        unit_id=cls.unit_id,
        claim=None,
        kind=kind,
        content_type=checked.content_type,
        sha256=checked.sha256,
        size=checked.size,
        stored_as=stored,
        original_name=checked.original_name,
        uploaded_by=actor,
    )
    document.save()
    ClassDocument.objects.create(training_class=cls, document=document, session=session)
    class_event_record(
        training_class=cls,
        actor=actor,
        action="attach_document",
        from_status=cls.status,
        changes={
            **document_changes(document),
            "session": session.pk if session is not None else None,
        },
    )
    return document


# --- Completion -----------------------------------------------------------------------------
def class_complete(
    *, class_id: int, results: list[ClassResult], actor: User
) -> list[Claim]:
    """Enter every person's result and create the class's claims in one step, all or
    none: each claim is created by ``claims.services.claim_create`` and judged exactly
    as a claim entered by hand, with the person's attended hours
    (``attendance_insufficient`` below the class terms' share)."""
    with transaction.atomic():
        cls = _lock(class_id, actor)
        require(permissions.can_complete(actor, cls))
        if today() < cls.planned_end:
            raise Conflict(
                "class_not_ended",
                f"培训班计划{cls.planned_end.isoformat()}结业，结业后方可办理",
            )
        lines = {line.trainee_id: line for line in live_roster(cls.pk)}
        by_person = {}
        for result in results:
            if result.trainee_id in by_person:
                raise DomainError(
                    "duplicate_result", f"培训人员{result.trainee_id}的结果重复"
                )
            if result.trainee_id not in lines:
                raise DomainError(
                    "not_on_roster", f"培训人员{result.trainee_id}不在培训班名单上"
                )
            if result.employment not in Employment.values:
                raise DomainError("invalid_employment", "就业情况无效")
            if result.level_id:
                level = _get(Level, result.level_id, "等级不存在")
                refusal = rules.level_above_class(
                    reached=(level.rank, level.name),
                    accepted=(cls.level.rank, cls.level.name) if cls.level else None,
                )
                if refusal is not None:
                    raise DomainError(
                        "level_above_class",
                        f"培训人员{result.trainee_id}：{refusal}",
                    )
            by_person[result.trainee_id] = result
        missing = [pk for pk in lines if pk not in by_person]
        if missing:
            raise DomainError(
                "results_incomplete",
                "名单上每个人都须填写结业结果，缺少："
                + ", ".join(str(pk) for pk in missing),
            )
        lock_objects.lock_trainees(list(lines))
        attended = attended_hours_of(cls.pk)
        span = sessions_span(cls.pk)
        claims = []
        for pk, line in lines.items():
            result = by_person[pk]
            attendance = attendance_facts(cls, pk, attended, span)
            data = replace(
                _claim_input(cls, pk, amount=Decimal("0.00")),
                level_id=result.level_id or cls.level_id,
                passed=result.passed,
                certificate_number=result.certificate_number.strip(),
                employment=result.employment,
            )
            # what the person may be paid: the cap their claim is judged under
            cap = judge(data, attendance=attendance).cap
            data = replace(data, amount_requested=cap or Decimal("0.00"))
            claim = claim_create(
                data=data,
                actor=actor,
                attendance=attendance,
                reason=f"培训班#{cls.pk}结业",
            )
            line.passed = result.passed
            line.certificate_number = data.certificate_number
            line.level_achieved_id = data.level_id
            line.employment = result.employment
            line.claim = claim
            # the trainee is asked "was this you?" with the hours recorded (issue 17)
            confirmation_issue(
                claim=claim, actor=actor, hours_attended=attendance.attended_hours
            )
            line.save(
                update_fields=[
                    "passed",
                    "certificate_number",
                    "level_achieved",
                    "employment",
                    "claim",
                ]
            )
            claims.append(claim)
        cls.completed_at = timezone.now()
        _move(
            cls,
            "complete",
            actor,
            fields=["completed_at"],
            changes={"claims": [c.pk for c in claims]},
        )
        # finance puts the class's advance on its claims (finance.receivers)
        class_completed.send(
            sender=TrainingClass, training_class=cls, claims=claims, actor=actor
        )
    return claims


# --- Internals ---------------------------------------------------------------------------
def _lock(class_id: int, actor: User) -> TrainingClass:
    """The class, locked, if the actor may see it (else 404, like a missing one)."""
    visible = classes_visible_to(actor)
    cls = lock_objects.lock_training_class(class_id, among=visible)
    if cls is None:
        raise NotFound("未找到该培训班")
    return cls


def _require_in_time(cls: TrainingClass) -> None:
    refusal = rules.filing_too_late(cls.planned_start, today())
    if refusal:
        raise Conflict("filing_too_late", refusal)


def _move(
    cls: TrainingClass,
    action: str,
    actor: User,
    *,
    fields: list[str],
    reason: str = "",
    changes: dict[str, Any] | None = None,
) -> None:
    target = rules.next_status(cls.status, action)
    assert target is not None  # the permission refused a status without the move
    from_status = cls.status
    cls.status = target
    cls.save(update_fields=["status", *fields])
    class_event_record(
        training_class=cls,
        actor=actor,
        action=action,
        from_status=from_status,
        reason=reason,
        changes=changes,
    )


def _claim_input(cls: TrainingClass, trainee_id: int, *, amount: Decimal) -> ClaimInput:
    return ClaimInput(
        trainee_id=trainee_id,
        program_id=cls.program_id,
        institution_id=cls.institution_id,
        unit_id=cls.unit_id,
        training_start=cls.planned_start,
        training_end=cls.planned_end,
        amount_requested=amount,
        trade_id=cls.trade_id,
        level_id=cls.level_id,
        project_based=cls.project_based,
    )


def _describe(cls: TrainingClass) -> dict[str, Any]:
    return {
        "institution": cls.institution_id,
        "program": cls.program_id,
        "trade": cls.trade_id,
        "level": cls.level_id,
        "unit": cls.unit_id,
        "project_based": cls.project_based,
        "planned_start": cls.planned_start.isoformat(),
        "planned_end": cls.planned_end.isoformat(),
        "hours": str(cls.hours),
        "location": cls.location,
        "teachers": list(cls.teachers),
    }


def _get(model: Any, pk: object, message: str) -> Any:
    try:
        return model.objects.get(pk=pk)
    except (model.DoesNotExist, ValueError, TypeError):
        raise DomainError("invalid_reference", message) from None
