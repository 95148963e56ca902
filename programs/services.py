"""Changes to the catalogue made outside the admin: a provider proposed by a clerk (or
an administrator), and its admission to the catalogue of 七(三) by an administrator."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import date, timedelta
from decimal import Decimal

from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from accounts.models import User
from altay_skills.errors import DomainError, NotFound, PermissionDenied
from altay_skills.lock_objects import lock_institution
from altay_skills.permissions import require
from altay_skills.plain_text import checked_reason, checked_text
from programs.credit_codes import InvalidCreditCode, validate_credit_code
from programs.models import (
    POLICY_VALUE_FIELD,
    UPLIFT_MAX_RATIO,
    Institution,
    InstitutionKind,
    Level,
    PolicyEntry,
    PolicyKind,
    Program,
    Unit,
)
from programs.permissions import (
    can_admit_institution,
    can_enter_policy,
    can_propose_institution,
)

logger = logging.getLogger(__name__)


def institution_create(
    *,
    name: str,
    kind: str,
    credit_code: str,
    unit_id: str,
    certified_difficult: bool = False,
    insured: bool = False,
    actor: User,
) -> Institution:
    """A clerk proposes a provider of their own unit; an administrator, of any unit.

    Whoever registers it, a new provider is a proposal (待认定): it is not in the
    catalogue of 七(三), not published, and a claim at it is not submitted, until an
    administrator other than the proposer admits it (``institution_admit``).
    Only an administrator records a county government's certification of an enterprise
    in difficulty (三(一)5): a clerk cannot grant it to themselves.
    """
    require(can_propose_institution(actor, unit_id))
    if actor.is_clerk and certified_difficult:
        raise PermissionDenied("困难企业认定须由管理员根据县(市)政府认定文件录入")
    try:
        code = validate_credit_code(credit_code)
    except InvalidCreditCode as exc:
        raise DomainError("invalid_credit_code", exc.message) from None
    if kind not in InstitutionKind.values:
        raise DomainError("invalid", "机构类型无效")
    if insured and kind != InstitutionKind.ENTERPRISE:
        raise DomainError("invalid", "只有企业可以登记为参保企业")
    if not Unit.objects.filter(code=unit_id).exists():
        raise DomainError("invalid_reference", "所在单位不存在")
    if Institution.objects.filter(credit_code=code).exists():
        raise DomainError("duplicate_credit_code", "该统一社会信用代码已登记")
    institution = Institution(
        name=checked_text((name or "").strip()),
        kind=kind,
        credit_code=code,
        unit_id=unit_id,
        certified_difficult=certified_difficult,
        insured=insured,
        admitted=False,
        proposed_by=actor,
    )
    try:
        institution.full_clean()
        with transaction.atomic():
            institution._history_user = actor  # type: ignore[attr-defined]
            institution.save()
    except ValidationError as exc:
        raise DomainError("invalid", "；".join(exc.messages)) from None
    except IntegrityError:
        raise DomainError("duplicate_credit_code", "该统一社会信用代码已登记") from None
    logger.info("institution %s proposed by user %s", institution.pk, actor.pk)
    return institution


def institution_admit(*, institution_id: int, actor: User, reason: str) -> Institution:
    """An administrator admits a proposed provider to the catalogue of 七(三).

    The provider's row is locked; who admitted it, when and on what grounds are kept on
    the row (CHECK constraints: a proposal has no admitter, and the proposer is never
    the admitter) and in its history (simple_history, with the actor and the reason).
    From then on it is published and claims at it may be submitted. Admission is not
    undone here: a provider leaves the catalogue through the administrator's own
    reference-data procedure, never by a claim's service.
    """
    require(can_admit_institution(actor))
    reason = checked_reason(reason, missing="请填写认定依据（如认定文件文号）")
    with transaction.atomic():
        try:
            institution = lock_institution(institution_id)
        except (ValueError, TypeError):
            institution = None
        if institution is None:
            raise NotFound("未找到该培训机构/企业")
        require(can_admit_institution(actor, institution))
        institution.admitted = True
        institution.admitted_by = actor
        institution.admitted_at = timezone.now()
        institution.admission_reason = reason
        institution._history_user = actor  # type: ignore[attr-defined]
        institution._change_reason = "认定列入培训机构目录"  # type: ignore[attr-defined]
        institution.save(
            update_fields=["admitted", "admitted_by", "admitted_at", "admission_reason"]
        )
    logger.info("institution %s admitted by user %s", institution.pk, actor.pk)
    return institution


#: What an administrator's admission stood on: who the provider is, where, and what
#: it qualifies for (三(一)2 参保企业, 三(一)5 认定的困难企业).
QUALIFYING_FIELDS = (
    "name",
    "kind",
    "credit_code",
    "unit",
    "certified_difficult",
    "insured",
)
#: Set by ``institution_admit`` only; an edit never writes them.
ADMISSION_COLUMNS = (
    "admitted",
    "proposed_by",
    "admitted_by",
    "admitted_at",
    "admission_reason",
)


def institution_change(*, institution: Institution, actor: User) -> list[str]:
    """An administrator's edit of a provider in ``/admin/`` (``institution`` as the
    form left it, not yet saved): the admission's columns stay as stored, and a change
    to what the admission stands on (``QUALIFYING_FIELDS``) makes ``actor`` its
    proposer, and puts an admitted provider back to 待认定 — another administrator
    admits it (again)
    (one administrator alone once turned an admitted school into an insured
    enterprise certified in difficulty). Returns the qualifying fields changed, in
    the row's history with the actor."""
    require(can_admit_institution(actor))
    columns = {f.name: f.attname for f in Institution._meta.concrete_fields}
    with transaction.atomic():
        stored = lock_institution(institution.pk)
        if stored is None:
            raise NotFound("未找到该培训机构/企业")
        for field in ADMISSION_COLUMNS:
            setattr(institution, columns[field], getattr(stored, columns[field]))
        changed = [
            field
            for field in QUALIFYING_FIELDS
            if getattr(institution, columns[field]) != getattr(stored, columns[field])
        ]
        institution._history_user = actor  # type: ignore[attr-defined]
        if changed:
            # whoever last wrote what an admission stands on is its proposer, admitted
            # or waiting: another administrator admits it (a colleague's waiting
            # proposal, rewritten and then admitted alone, was one person's word)
            institution.proposed_by = actor
            institution._change_reason = (  # type: ignore[attr-defined]
                "修改认定所依据的信息（" + "、".join(changed) + "）"
            )
        if stored.admitted and changed:
            institution.admitted = False
            institution.admitted_by = None
            institution.admitted_at = None
            institution.admission_reason = ""
            institution._change_reason += "，退回待认定"  # type: ignore[attr-defined]
        institution.save()
    logger.info(
        "institution %s changed by user %s: %s", institution.pk, actor.pk, changed
    )
    return changed if stored.admitted else []


# --- The dated policy (政策标准) ---------------------------------------------------------
#: The kinds whose quantity is a month of the year.
MONTH_KINDS = frozenset(
    {
        PolicyKind.SCHOOL_YEAR_START_MONTH,
        PolicyKind.WORK_YEAR_START_MONTH,
        PolicyKind.LIMIT_YEAR_START_MONTH,
    }
)


def policy_entry_create(
    *,
    actor: User,
    kind: str,
    effective_from: date,
    clause: str,
    source_document: str,
    program_id: int | None = None,
    level_id: str | None = None,
    unit_id: str | None = None,
    amount: Decimal | None = None,
    ratio: Decimal | None = None,
    quantity: int | None = None,
    effective_to: date | None = None,
    note: str = "",
) -> PolicyEntry:
    """An administrator enters one dated policy entry with the document it comes from:
    a cap, a ratio, a count, a period with terms (``plan_period``: successor terms
    after the notice's 2019—2021), or a county's uplift decision (a ``project_uplift``
    for its unit, 0 < rate ≤ 50%).

    Refused (``DomainError``, Chinese message, nothing written): an unknown kind or
    reference; a value that does not match the kind (a cap is an amount, a ratio a
    ratio, a count a quantity, a period none); a month outside 1–12; an uplift without
    a unit or outside (0, 0.5]; a period overlapping an entry of the same program,
    level, unit and kind (``policy_overlap``: close the old one first). The entry's
    history (simple_history) records who entered it.
    """
    require(can_enter_policy(actor))
    if kind not in PolicyKind.values:
        raise DomainError("invalid", "政策标准类别无效")
    if program_id is not None and not Program.objects.filter(pk=program_id).exists():
        raise DomainError("invalid_reference", "项目不存在")
    if level_id is not None and not Level.objects.filter(pk=level_id).exists():
        raise DomainError("invalid_reference", "等级不存在")
    if unit_id is not None and not Unit.objects.filter(pk=unit_id).exists():
        raise DomainError("invalid_reference", "单位不存在")
    values = {"amount": amount, "ratio": ratio, "quantity": quantity}
    field = POLICY_VALUE_FIELD[kind]
    label = PolicyKind(kind).label
    for name, value in values.items():
        if name != field and value is not None:
            raise DomainError(
                "invalid_value", f"“{label}”不使用{_VALUE_NAMES[name]}，请留空"
            )
    if field is not None and values[field] is None:
        raise DomainError("invalid_value", f"“{label}”须填写{_VALUE_NAMES[field]}")
    if ratio is not None and not 0 < ratio <= 1:
        raise DomainError("invalid_value", "比例须大于0且不超过1（如 0.40 表示 40%）")
    if kind == PolicyKind.PROJECT_UPLIFT:
        if unit_id is None:
            raise DomainError(
                "invalid_value",
                "项目制上浮由县级人社部门商同级财政部门决定，须填写作出决定的单位",
            )
        if ratio is not None and ratio > UPLIFT_MAX_RATIO:
            raise DomainError("invalid_value", "上浮比例须大于0且不超过0.5（50%）")
    if kind in MONTH_KINDS and quantity is not None and not 1 <= quantity <= 12:
        raise DomainError("invalid_value", "月份须为1—12")
    if effective_to is not None and effective_to < effective_from:
        raise DomainError("invalid_dates", "失效日期不能早于生效日期")
    entry = PolicyEntry(
        program_id=program_id,
        level_id=level_id,
        unit_id=unit_id,
        kind=kind,
        amount=amount,
        ratio=ratio,
        quantity=quantity,
        effective_from=effective_from,
        effective_to=effective_to,
        clause=(clause or "").strip(),
        source_document=(source_document or "").strip(),
        note=(note or "").strip(),
    )
    with transaction.atomic():
        _save_entry(entry, actor=actor, reason="管理员录入政策标准")
    logger.info("policy entry %s (%s) entered by user %s", entry.pk, kind, actor.pk)
    return entry


_VALUE_NAMES = {"amount": "金额", "ratio": "比例", "quantity": "数量"}


def _save_entry(entry: PolicyEntry, *, actor: User | None, reason: str) -> None:
    """Validate (the model's rules and constraints) and save, or raise DomainError."""
    try:
        entry.full_clean()
    except ValidationError as exc:
        errors = getattr(exc, "error_dict", {}).get(NON_FIELD_ERRORS, [])
        if any(e.code == "overlap" for e in errors):
            raise DomainError("policy_overlap", "；".join(exc.messages)) from None
        raise DomainError("invalid", "；".join(exc.messages)) from None
    entry._history_user = actor  # type: ignore[attr-defined]
    entry._change_reason = reason  # type: ignore[attr-defined]
    try:
        with transaction.atomic():
            entry.save()
    except IntegrityError:
        raise DomainError(
            "invalid", "政策标准不符合约束（数值与类别不符或超出范围）"
        ) from None


# --- Illustrative successor terms (demo and benchmark only) ----------------------------
#: 阿行办发〔2019〕50号 is the plan for 2019—2021: its terms end 2021-12-31.
PLAN_END = date(2021, 12, 31)
ILLUSTRATIVE_SOURCE = "演示用后续政策（示例，非真实文件）"
ILLUSTRATIVE_NOTE = (
    "演示/基准测试用示意数据：阿行办发〔2019〕50号是2019—2021年的实施方案，"
    "此后的补贴条件须由管理员按后续政策文件录入。本条沿用原方案的数值仅作示意，"
    "不是真实政策。"
)
ILLUSTRATIVE_UPLIFT_SOURCE = "演示用县(市)上浮决定（示例，非真实文件）"
ILLUSTRATIVE_UPLIFT_NOTE = (
    "演示/基准测试用示意数据：项目制培训上浮须由县级人社部门商同级财政部门决定"
    "（三(二)9），本条不是真实决定。"
)


def enter_illustrative_terms(
    *,
    uplift_units: Iterable[str] = (),
    uplift_ratio: Decimal = UPLIFT_MAX_RATIO,
    plan_end: date = PLAN_END,
) -> int:
    """For the demo and the benchmark only: illustrative policy entries, each marked
    ``is_demo`` and named as such in its document and note, so that later years and
    project-based uplifts can be shown. Returns how many were entered.

    - **Successor terms**: every prefecture-wide entry whose term ended with the plan
      (``plan_end``: the notice's own terms, its period among them) is continued,
      open-ended, from the next day — the figures unchanged. A project uplift is never
      continued (it is a county's decision).
    - **County uplift decisions**: for each of ``uplift_units`` a ``project_uplift`` of
      ``uplift_ratio`` for program 9 from the plan's start, open-ended.

    Idempotent: an entry that would overlap one already there (entered by an
    administrator, or by an earlier run) is skipped, theirs kept.
    """
    entered = 0
    start = plan_end + timedelta(days=1)
    with transaction.atomic():
        for old in PolicyEntry.objects.filter(
            effective_to=plan_end, unit__isnull=True, is_demo=False
        ).exclude(kind=PolicyKind.PROJECT_UPLIFT):
            entry = PolicyEntry(
                program_id=old.program_id,
                level_id=old.level_id,
                kind=old.kind,
                amount=old.amount,
                ratio=old.ratio,
                quantity=old.quantity,
                effective_from=start,
                effective_to=None,
                clause=old.clause,
                source_document=ILLUSTRATIVE_SOURCE,
                is_demo=True,
                note=ILLUSTRATIVE_NOTE,
            )
            entered += _enter_illustrative(entry)
        for unit_id in uplift_units:
            entry = PolicyEntry(
                program_id=9,
                unit_id=unit_id,
                kind=PolicyKind.PROJECT_UPLIFT,
                ratio=uplift_ratio,
                effective_from=date(2019, 1, 1),
                clause="三(二)9",
                source_document=ILLUSTRATIVE_UPLIFT_SOURCE,
                is_demo=True,
                note=ILLUSTRATIVE_UPLIFT_NOTE,
            )
            entered += _enter_illustrative(entry)
    return entered


def _enter_illustrative(entry: PolicyEntry) -> int:
    try:
        with transaction.atomic():
            _save_entry(entry, actor=None, reason="演示数据：示意性政策标准")
    except DomainError:
        return 0  # one already there for that period: keep it
    return 1
