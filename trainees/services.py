"""Registering a person in the real-name registry (实名制管理, 五(二))."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from accounts.models import User
from altay_skills.errors import DomainError, PermissionDenied
from trainees.id_numbers import InvalidIdNumber, parse_id_number
from trainees.models import Group, Household, Trainee

REGISTRARS = {"county_clerk", "administrator"}


def trainee_register(
    *,
    id_number: str,
    name: str,
    household: str,
    groups: list[str],
    phone: str = "",
    actor: User,
) -> tuple[Trainee, bool]:
    """Register a person, or return the one already registered under that number.

    Returns ``(trainee, created)``. An existing person is never duplicated nor silently
    changed: the registry is prefecture-wide and another unit may have entered them.
    """
    if actor.role not in REGISTRARS and not actor.is_superuser:
        raise PermissionDenied("只有县(市)经办人可以登记培训人员")
    try:
        facts = parse_id_number(id_number)
    except InvalidIdNumber as exc:
        raise DomainError("invalid_id_number", exc.message) from None
    existing = Trainee.objects.filter(id_number=facts.number).first()
    if existing is not None:
        return existing, False
    name = (name or "").strip()
    if not name:
        raise DomainError("invalid", "请填写姓名")
    if household not in Household.values:
        raise DomainError("invalid", "请选择户籍类型（农业或城镇）")
    unknown = [g for g in groups if g not in Group.values]
    if unknown:
        raise DomainError("invalid", f"未知的人员类别：{'、'.join(unknown)}")
    trainee = Trainee(
        id_number=facts.number,
        name=name,
        household=household,
        groups=sorted(set(groups)),
        phone=(phone or "").strip(),
        registered_by_unit_id=actor.unit_id,
    )
    try:
        trainee.full_clean()
    except ValidationError as exc:
        raise DomainError("invalid", "；".join(exc.messages)) from None
    try:
        with transaction.atomic():
            trainee.save()
    except IntegrityError:
        # Registered by someone else a moment ago: return theirs.
        return Trainee.objects.get(id_number=facts.number), False
    return trainee, True
