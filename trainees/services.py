"""Registering a person in the real-name registry (实名制管理, 五(二)), changing their
facts afterwards (recorded, with a reason), and the audited view of a full ID number."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from accounts.models import User
from altay_skills.errors import DomainError, NotFound, PermissionDenied
from altay_skills.lock_objects import lock_trainees, lock_user
from altay_skills.plain_text import checked_reason, checked_text
from programs.models import Unit
from trainees.id_numbers import (
    IdNumberFacts,
    InvalidIdNumber,
    mask_id_numbers_in,
    parse_id_number,
)
from trainees.models import (
    FACT_FIELDS,
    Group,
    Household,
    IdNumberReveal,
    MessageLanguage,
    Residence,
    RevealChannel,
    Trainee,
    TraineeFactChange,
    TraineeFound,
)
from trainees.permissions import can_change_trainee_facts
from trainees.selectors import id_number_reveal_refusal

logger = logging.getLogger(__name__)

REGISTRARS = {"county_clerk", "administrator"}
#: Full ID numbers one person may ask to see in an hour: a clerk checking a day's
#: claims needs a handful; a script harvesting the registry is stopped at this.
REVEALS_PER_HOUR = 30
MAX_SOURCE_LENGTH = 200
#: A working life's months: a larger number is a typing error.
MAX_MONTHS_IN_TOWN = 600
#: The place facts as the API names them → the model's attribute.
PLACE_FIELDS = {
    "residence_unit": "residence_unit_id",
    "job_seeking_unit": "job_seeking_unit_id",
    "residence": "residence",
    "months_in_town": "months_in_town",
}


class TooManyReveals(DomainError):
    status_code = 429

    def __init__(self) -> None:
        super().__init__(
            "throttled",
            f"一小时内最多查看{REVEALS_PER_HOUR}个完整身份证号码，请稍后再试",
        )


def trainee_register(
    *,
    id_number: str,
    name: str,
    household: str,
    groups: list[str],
    phone: str = "",
    actor: User,
    residence_unit: str | None = None,
    job_seeking_unit: str | None = None,
    residence: str = "",
    months_in_town: int = 0,
    message_language: str = MessageLanguage.ZH_HANS,
) -> tuple[Trainee, bool]:
    """Register a person, or return the one already registered under that number.

    Returns ``(trainee, created)``. An existing person is never duplicated nor silently
    changed: the registry is prefecture-wide and another unit may have entered them.
    """
    _may_register(actor)
    try:
        facts = parse_id_number(id_number)
    except InvalidIdNumber as exc:
        raise DomainError("invalid_id_number", exc.message) from None
    existing = Trainee.objects.filter(id_number=facts.number).first()
    if existing is not None:
        trainee_found(actor=actor, trainee=existing)
        return existing, False
    trainee = _new_trainee(
        facts,
        name,
        household,
        groups,
        phone,
        actor,
        in_database=True,
        places={
            **_checked_places(
                residence_unit=residence_unit,
                job_seeking_unit=job_seeking_unit,
                residence=residence,
                months_in_town=months_in_town,
            ),
            "message_language": _checked_language(message_language),
        },
    )
    try:
        with transaction.atomic():
            trainee.save()
    except IntegrityError:
        # Registered by someone else a moment ago: return theirs.
        existing = Trainee.objects.get(id_number=facts.number)
        trainee_found(actor=actor, trainee=existing)
        return existing, False
    return trainee, True


def trainee_found(*, actor: User, trainee: Trainee) -> None:
    """Record that ``actor`` found ``trainee`` by their full ID number: for
    ``settings.TRAINEE_FOUND_HOURS`` the actor may open the person by id (file a claim
    for them, open their page) as ``trainees.selectors.trainees_in_scope`` reads it.
    One row per user and person, its time moved on; no-op for an anonymous actor."""
    if not actor.is_authenticated:
        return
    TraineeFound.objects.update_or_create(
        user=actor, trainee=trainee, defaults={"at": timezone.now()}
    )


@dataclass(frozen=True)
class Newcomer:
    id_number: str
    name: str
    household: str
    groups: list[str]
    phone: str = ""


def trainees_register_new(newcomers: Iterable[Newcomer], *, actor: User) -> set[str]:
    """Register many people not yet in the registry in one INSERT, in ID-number order;
    returns the numbers registered.

    ``trainee_register`` costs about nine queries a person (33 s for 1,000 newcomers of
    an import on a million-claim database). Here every person gets the same checks in
    Python and the database keeps the unique key and the check constraint as the
    backstop. A person whose fields do not pass is left out, and if anyone registered
    one of them meanwhile the insert fails as a whole and nothing is registered: the
    caller then registers what is left through ``trainee_register``, one by one, for its
    messages and its answer to a race. The order is the service's, so two imports wait
    for each other and never deadlock.
    """
    _may_register(actor)
    people = []
    for n in sorted(newcomers, key=lambda n: n.id_number):
        try:
            facts = parse_id_number(n.id_number)
            people.append(
                _new_trainee(
                    facts,
                    n.name,
                    n.household,
                    n.groups,
                    n.phone,
                    actor,
                    in_database=False,
                )
            )
        except (InvalidIdNumber, DomainError):
            continue
    if not people:
        return set()
    try:
        with transaction.atomic():
            Trainee.objects.bulk_create(people, batch_size=1000)
    except IntegrityError:
        return set()
    return {p.id_number for p in people}


def _may_register(actor: User) -> None:
    if actor.role not in REGISTRARS and not actor.is_superuser:
        raise PermissionDenied("只有县(市)经办人可以登记培训人员")


def _new_trainee(
    facts: IdNumberFacts,
    name: str,
    household: str,
    groups: list[str],
    phone: str,
    actor: User,
    *,
    in_database: bool,
    places: dict[str, Any] | None = None,
) -> Trainee:
    """A person checked for registration (not saved). ``in_database=False`` leaves the
    uniqueness, the constraints and the unit to the database's own checks on insert."""
    trainee = Trainee(
        id_number=facts.number,
        birth_date=facts.birth_date,  # as Trainee.save() sets them; bulk_create does not
        sex=facts.sex,
        **_checked_facts(name=name, household=household, groups=groups, phone=phone),
        registered_by_unit_id=actor.unit_id,
        **(places or {}),
    )
    try:
        if in_database:
            trainee.full_clean()
        else:
            trainee.full_clean(
                exclude=["registered_by_unit"],
                validate_unique=False,
                validate_constraints=False,
            )
    except ValidationError as exc:
        raise DomainError("invalid", "；".join(exc.messages)) from None
    return trainee


def _checked_facts(
    *, name: str, household: str, groups: list[str], phone: str
) -> dict[str, Any]:
    """A person's facts as registration and every later change check them: the name
    given, printable text only, a known household and groups (sorted, once each)."""
    name = (name or "").strip()
    phone = (phone or "").strip()
    if not name:
        raise DomainError("invalid", "请填写姓名")
    if household not in Household.values:
        raise DomainError("invalid", "请选择户籍类型（农业或城镇）")
    if not isinstance(groups, list | tuple) or not all(
        isinstance(g, str) for g in groups
    ):
        raise DomainError("invalid", "人员类别无效")
    unknown = [g for g in groups if g not in Group.values]
    if unknown:
        raise DomainError("invalid", f"未知的人员类别：{'、'.join(unknown)}")
    checked_text(name)
    checked_text(phone)
    return {
        "name": name,
        "household": household,
        "groups": sorted(set(groups)),
        "phone": phone,
    }


def _checked_places(
    *,
    residence_unit: Any = None,
    job_seeking_unit: Any = None,
    residence: Any = "",
    months_in_town: Any = 0,
) -> dict[str, Any]:
    """五(二) 户籍地、常住地、求职就业地 and 三(二)7's facts, as the model stores them:
    the two places as unit codes (optional), the kind of residence and the months of
    non-farm work in town."""
    if residence not in ("", *Residence.values):
        raise DomainError("invalid", "常住地类型无效（城市或乡村）")
    if (
        isinstance(months_in_town, bool)
        or not isinstance(months_in_town, int)
        or not 0 <= months_in_town <= MAX_MONTHS_IN_TOWN
    ):
        raise DomainError(
            "invalid", f"进城从事非农业生产月数须为0至{MAX_MONTHS_IN_TOWN}的整数"
        )
    return {
        "residence_unit_id": _unit(residence_unit).code if residence_unit else None,
        "job_seeking_unit_id": (
            _unit(job_seeking_unit).code if job_seeking_unit else None
        ),
        "residence": residence,
        "months_in_town": months_in_town,
    }


def _checked_language(value: Any) -> str:
    """The language of the person's text messages: one of ``MessageLanguage``."""
    if value not in MessageLanguage.values:
        raise DomainError("invalid", "短信语言无效（简体中文、维吾尔文或哈萨克文）")
    return str(value)


def trainee_update_facts(
    *, actor: User, trainee_id: int, reason: str, **fields: Any
) -> Trainee:
    """Change a registered person's facts (``FACT_FIELDS``: name, household, groups,
    phone, and ``registered_by_unit`` as a unit code), checked as registration checks
    them, with a reason.

    The only way a person's facts change (issue 12, 3): a county clerk of the person's
    own unit or a prefecture reviewer (``can_change_trainee_facts``). The person's row
    is locked, and the ``TraineeFactChange`` row (who, role, when, why,
    ``{field: [old, new]}``) is written in the same transaction. The ID number never
    changes here, and never reaches the record in full.
    """
    unknown = sorted(set(fields) - set(FACT_FIELDS))
    if unknown:
        if "id_number" in unknown:
            raise DomainError("invalid", "身份证号码不能修改")
        raise DomainError("invalid", f"不能修改的字段：{'、'.join(unknown)}")
    reason = checked_reason(reason, missing="请填写修改理由")
    with transaction.atomic():
        try:
            lock_trainees([trainee_id])
            trainee = Trainee.objects.filter(pk=trainee_id).first()
        except (ValueError, TypeError):
            trainee = None
        if trainee is None:
            raise NotFound("未找到该培训人员")
        allowed, why = can_change_trainee_facts(actor, trainee)
        if not allowed:
            raise PermissionDenied(why)
        before = _facts_of(trainee)
        checked = _checked_facts(
            name=fields.get("name", trainee.name),
            household=fields.get("household", trainee.household),
            groups=fields.get("groups", trainee.groups),
            phone=fields.get("phone", trainee.phone),
        )
        for field, value in checked.items():
            if field in fields:  # the others are checked, never rewritten
                setattr(trainee, field, value)
        if "registered_by_unit" in fields:
            trainee.registered_by_unit = _unit(fields["registered_by_unit"])
        places = _checked_places(
            **{
                name: fields.get(name, getattr(trainee, attr))
                for name, attr in PLACE_FIELDS.items()
            }
        )
        for name, attr in PLACE_FIELDS.items():
            if name in fields:
                setattr(trainee, attr, places[attr])
        if "message_language" in fields:
            trainee.message_language = _checked_language(fields["message_language"])
        after = _facts_of(trainee)
        changes = {
            field: [
                _masked(before[field]),
                _masked(after[field]),
            ]
            for field in FACT_FIELDS
            if before[field] != after[field]
        }
        if not changes:
            raise DomainError("no_change", "没有需要修改的信息")
        try:
            trainee.full_clean(validate_unique=False)
        except ValidationError as exc:
            raise DomainError("invalid", "；".join(exc.messages)) from None
        trainee.save(update_fields=[*changes, "updated_at"])
        TraineeFactChange.objects.create(
            trainee=trainee,
            actor=actor,
            actor_role=actor.role,
            reason=reason,
            changes=changes,
        )
    logger.info(
        "facts of trainee %s changed by user %s: %s",
        trainee.pk,
        actor.pk,
        ", ".join(changes),
    )
    return trainee


def _facts_of(trainee: Trainee) -> dict[str, Any]:
    return {
        "name": trainee.name,
        "household": trainee.household,
        "groups": list(trainee.groups),
        "phone": trainee.phone,
        "message_language": trainee.message_language,
        "registered_by_unit": trainee.registered_by_unit_id,
        "residence_unit": trainee.residence_unit_id,
        "job_seeking_unit": trainee.job_seeking_unit_id,
        "residence": trainee.residence,
        "months_in_town": trainee.months_in_town,
    }


def _masked(value: Any) -> Any:
    """A fact as the record keeps it: any ID number typed into it masked."""
    if isinstance(value, str):
        return mask_id_numbers_in(value)
    if isinstance(value, list):
        return [_masked(v) for v in value]
    return value


def _unit(code: Any) -> Unit:
    if not isinstance(code, str) or not code.strip():
        raise DomainError("invalid", "请选择登记单位")
    unit = Unit.objects.filter(code=code.strip()).first()
    if unit is None:
        raise DomainError("invalid", f"单位代码无效：{code.strip()}")
    return unit


def id_number_reveal(
    *,
    trainee_id: int,
    actor: User,
    reason: str,
    channel: str,
    source: str,
    address: str | None = None,
) -> str:
    """The full ID number of a person, for a role whose work needs it, with a reason.

    Every reveal writes its ``IdNumberReveal`` row (who, role, when, why, page or API,
    address) in the same transaction before the number is returned; more than
    ``REVEALS_PER_HOUR`` by one person in an hour are refused (429). The actor's row is
    locked first, so one person's parallel requests cannot slip past the limit.
    """
    reason = checked_reason(reason, missing="请填写查看完整身份证号码的理由")
    if channel not in RevealChannel.values:
        raise DomainError("invalid", "来源渠道无效")
    with transaction.atomic():
        lock_user(actor.pk)
        try:
            trainee = Trainee.objects.get(pk=trainee_id)
        except (Trainee.DoesNotExist, ValueError, TypeError):
            raise NotFound("未找到该培训人员") from None
        refusal = id_number_reveal_refusal(actor, trainee)
        if refusal is not None:
            raise PermissionDenied(refusal)
        since = timezone.now() - timedelta(hours=1)
        recent = IdNumberReveal.objects.filter(actor=actor, at__gte=since).count()
        if recent >= REVEALS_PER_HOUR:
            raise TooManyReveals()
        IdNumberReveal.objects.create(
            trainee=trainee,
            actor=actor,
            actor_role=actor.role,
            reason=reason,
            channel=channel,
            source=(source or "")[:MAX_SOURCE_LENGTH],
            address=address or None,
        )
    logger.info(
        "id number revealed: trainee %s to user %s (%s)",
        trainee.pk,
        actor.pk,
        channel,
    )
    return trainee.id_number
