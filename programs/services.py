"""Changes to the catalogue made outside the admin: a provider proposed by a clerk (or
an administrator), and its admission to the catalogue of 七(三) by an administrator."""

from __future__ import annotations

import logging

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from accounts.models import User
from altay_skills.errors import DomainError, NotFound, PermissionDenied
from altay_skills.lock_objects import lock_institution
from altay_skills.permissions import require
from altay_skills.plain_text import checked_reason, checked_text
from programs.credit_codes import InvalidCreditCode, validate_credit_code
from programs.models import Institution, InstitutionKind, Unit
from programs.permissions import can_admit_institution, can_propose_institution

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
