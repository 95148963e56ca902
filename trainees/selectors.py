"""Reads of the registry. The registry is prefecture-wide; a person's history shows to
any clerk as counts and used trade/levels, with the ID number masked.

A person's subsidy history is their claims, so it is read by the claim stage
(``claims.selectors.subsidy_history``), which this earlier stage never imports.

Who may see a full ID number (``id_number_reveal_refusal``) is the registry's rule — it
keeps the numbers, the masking, the reveal service and its audit rows — but one of its
grounds is the claim stage's: "a claim of your unit for this person" (clerk) or "a claim
of theirs beyond a draft" (the prefecture roles). That ground is *registered* by
``ClaimsConfig.ready()`` (``ground_reveals(claims.selectors.claim_grounds_reveal)``), as
``quarters`` offers its decisions to ``claims``. Kept here rather than moving the reveal
service into ``claims`` because the reveal is about the ID number, not about a claim: the
throttle, the ``IdNumberReveal`` row and the number itself stay in the one app that holds
ID numbers, and the API and page that reveal need no claim code beyond this one answer.
Without a registered ground the rule refuses (it fails closed): only the registering
unit's clerk may see the number.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.utils import timezone

from accounts.models import User
from altay_skills.errors import NotFound
from trainees.id_numbers import InvalidIdNumber, normalize, parse_id_number
from trainees.models import IdNumberReveal, Trainee, TraineeFactChange, TraineeFound
from trainees.permissions import can_change_trainee_facts

#: Roles that may ask to see a full ID number, each for the people its work touches:
#: the clerk who enters and checks the number against the ID card (their unit's people),
#: the reviewer who checks claims and spot-checks documents (五(一) 随机抽查), finance
#: which pays individuals (the payee of a non-enterprise training is the person), and
#: the auditor, who per domain.md reads everything to inspect 实名制 itself.
#: The administrator keeps reference data and never handles a claim: never.
REVEALING_ROLES = frozenset(
    {"county_clerk", "prefecture_reviewer", "finance_officer", "auditor"}
)

#: A later stage's answer to "does this person's record there make their full number
#: this user's business?" (registered from its ``AppConfig.ready()``).
RevealGround = Callable[[User, Trainee], bool]
_reveal_grounds: list[RevealGround] = []


def ground_reveals(ground: RevealGround) -> None:
    """Register a later stage's ground for a reveal (called from ``AppConfig.ready()``)."""
    if ground not in _reveal_grounds:
        _reveal_grounds.append(ground)


#: Roles that read every person's whole record (phone, household, groups): the
#: prefecture's reviewer, finance and auditor, who handle every unit's claims, and the
#: administrator, who keeps the registry beside the reference data. A clerk reads the
#: whole record of their own unit's people only (``shows_whole_record``).
WHOLE_RECORD_ROLES = frozenset(
    {"prefecture_reviewer", "finance_officer", "auditor", "administrator"}
)

#: A later stage's answer to "which people may this user open by id?" — the people its
#: records of that user's name (a claim of the clerk's unit), as a queryset of those
#: records with a ``trainee_id`` column, which ``trainees_in_scope`` asks per person
#: (registered from its ``AppConfig.ready()``, as ``ground_reveals``).
ReadGround = Callable[[User], "QuerySet[Any]"]
_read_grounds: list[ReadGround] = []


def ground_reads(ground: ReadGround) -> None:
    """Register a later stage's ground for opening a person by id."""
    if ground not in _read_grounds:
        _read_grounds.append(ground)


def shows_whole_record(user: User, trainee: Trainee) -> bool:
    """Whether ``user`` reads ``trainee``'s whole record, or only what the limits need
    (issue 14, 3): the masked number, the name and the subsidy history (五(二)). A
    clerk's own unit is the unit that registered the person (or that the prefecture
    has since assigned); a person registered by no unit is nobody's own."""
    if not user.is_authenticated or not user.is_active:
        return False
    if user.role in WHOLE_RECORD_ROLES or user.is_superuser:
        return True
    return bool(
        user.is_clerk
        and trainee.registered_by_unit_id
        and trainee.registered_by_unit_id == user.unit_id
    )


def trainees_in_scope(user: User) -> QuerySet[Trainee]:
    """The people ``user`` may open by id — over the API, on the pages, or as the
    trainee of a claim they file: every one for the whole-record roles; for a clerk,
    their own unit's, those a later stage grounds (a claim of their unit) and those the
    clerk found by their full ID number within ``settings.TRAINEE_FOUND_HOURS``
    (``TraineeFound``); for anyone else, those grounded or found. Nobody is opened by
    walking ids: first the full number (``trainee_by_id_number``), then the id."""
    if not user.is_authenticated or not user.is_active:
        return Trainee.objects.none()
    if user.role in WHOLE_RECORD_ROLES or user.is_superuser:
        return Trainee.objects.all()
    since = timezone.now() - timedelta(hours=settings.TRAINEE_FOUND_HOURS)
    scope = Q(
        pk__in=TraineeFound.objects.filter(user=user, at__gte=since).values(
            "trainee_id"
        )
    )
    if user.is_clerk and user.unit_id:
        scope |= Q(registered_by_unit_id=user.unit_id)
    for ground in _read_grounds:
        # EXISTS for this person, not IN (every id of the ground): PostgreSQL then
        # plans one index probe instead of costing a million-row subquery — a cost
        # above jit_above_cost made it compile the query (136 ms) before answering
        # in 0.1 ms, on every dry run and claim at 10 million claims (issue 20)
        scope |= Q(Exists(ground(user).filter(trainee_id=OuterRef("pk"))))
    return Trainee.objects.filter(scope)


def trainee_in_scope(user: User, trainee_id: int) -> Trainee:
    """A person ``user`` may open by id, or ``NotFound`` — the same answer as a missing
    id, so walking ids tells nothing about who is registered."""
    try:
        return trainees_in_scope(user).get(pk=trainee_id)
    except (Trainee.DoesNotExist, ValueError, TypeError):
        raise NotFound("未找到该培训人员") from None


def trainee_by_id_number(user: User, id_number: str) -> Trainee | None:
    """The person with this full number, or None: the registry is prefecture-wide, so
    any signed-in user may find anyone whose number they already hold (what they then
    read is ``shows_whole_record``'s answer). The caller records the finding with
    ``trainees.services.trainee_found``. Raises ``InvalidIdNumber`` on a bad number."""
    if not user.is_authenticated or not user.is_active:
        return None
    number = parse_id_number(normalize(id_number)).number
    return Trainee.objects.filter(id_number=number).first()


def id_number_reveal_refusal(user: User, trainee: Trainee) -> str | None:
    """Why ``user`` may not see ``trainee``'s full ID number, or None when they may.

    A clerk only for a person of their own unit (the unit that registered them, or
    that the prefecture has since assigned) or one their unit holds a live claim for
    (submitted, not withdrawn or rejected: never a mere draft); the prefecture roles
    only for a person with a claim beyond a draft (one that reached review and
    payment): a person merely registered somewhere is nobody's business but the
    registering unit's. The claim part is asked of the registered grounds
    (``claims.selectors.claim_grounds_reveal``).
    """
    if not user.is_authenticated or not user.is_active:
        return "请先登录"
    if user.role not in REVEALING_ROLES:
        return "您的角色不能查看完整身份证号码"
    if user.is_clerk:
        if trainee.registered_by_unit_id == user.unit_id:
            return None
        if _grounded(user, trainee):
            return None
        return "只能查看本单位登记人员或本单位有已提交申报（未撤回、未驳回）人员的完整身份证号码"
    if _grounded(user, trainee):
        return None
    return "该人员没有已提交的申报，无需查看完整身份证号码"


def _grounded(user: User, trainee: Trainee) -> bool:
    return any(ground(user, trainee) for ground in _reveal_grounds)


def id_number_reveals_of(user: User, trainee: Trainee) -> QuerySet[IdNumberReveal]:
    """The audit rows of full-number views of a person, for the auditor only."""
    if not user.is_authenticated or not user.is_auditor:
        return IdNumberReveal.objects.none()
    return IdNumberReveal.objects.filter(trainee=trainee).select_related("actor")


__all__ = [
    "REVEALING_ROLES",
    "WHOLE_RECORD_ROLES",
    "InvalidIdNumber",
    "ground_reads",
    "ground_reveals",
    "id_number_reveal_refusal",
    "id_number_reveals_of",
    "shows_whole_record",
    "trainee_by_id_number",
    "trainee_fact_changes_of",
    "trainee_in_scope",
    "trainees_in_scope",
]


def trainee_fact_changes_of(
    user: User, trainee: Trainee
) -> QuerySet[TraineeFactChange]:
    """The recorded changes of a person's facts, for the auditor and for those who may
    change them (``can_change_trainee_facts``)."""
    if not user.is_authenticated or not (
        user.is_auditor or can_change_trainee_facts(user, trainee)[0]
    ):
        return TraineeFactChange.objects.none()
    return TraineeFactChange.objects.filter(trainee=trainee).select_related("actor")
