"""Changes to the catalogue made outside the admin (clerks registering a provider)."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from accounts.models import User
from altay_skills.errors import DomainError, PermissionDenied
from programs.credit_codes import InvalidCreditCode, validate_credit_code
from programs.models import Institution, InstitutionKind, Unit


def institution_create(
    *,
    name: str,
    kind: str,
    credit_code: str,
    unit_id: str,
    certified_difficult: bool = False,
    actor: User,
) -> Institution:
    """A clerk registers a provider of their own unit; an administrator, of any unit.

    Only an administrator records a county government's certification of an enterprise
    in difficulty (三(一)5): a clerk cannot grant it to themselves.
    """
    if not (actor.is_clerk or actor.is_administrator):
        raise PermissionDenied("只有经办人或管理员可以登记培训机构")
    if actor.is_clerk and unit_id != actor.unit_id:
        raise PermissionDenied("经办人只能登记本单位的培训机构/企业")
    if actor.is_clerk and certified_difficult:
        raise PermissionDenied("困难企业认定须由管理员根据县(市)政府认定文件录入")
    try:
        code = validate_credit_code(credit_code)
    except InvalidCreditCode as exc:
        raise DomainError("invalid_credit_code", exc.message) from None
    if kind not in InstitutionKind.values:
        raise DomainError("invalid", "机构类型无效")
    if not Unit.objects.filter(code=unit_id).exists():
        raise DomainError("invalid_reference", "所在单位不存在")
    if Institution.objects.filter(credit_code=code).exists():
        raise DomainError("duplicate_credit_code", "该统一社会信用代码已登记")
    institution = Institution(
        name=(name or "").strip(),
        kind=kind,
        credit_code=code,
        unit_id=unit_id,
        certified_difficult=certified_difficult,
    )
    try:
        institution.full_clean()
        with transaction.atomic():
            institution.save()
    except ValidationError as exc:
        raise DomainError("invalid", "；".join(exc.messages)) from None
    except IntegrityError:
        raise DomainError("duplicate_credit_code", "该统一社会信用代码已登记") from None
    return institution
