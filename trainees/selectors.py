"""Reads of the registry. The registry is prefecture-wide; a person's history shows to
any clerk as counts and used trade/levels, with the ID number masked."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from django.db.models import QuerySet

from accounts.models import User
from altay_skills.errors import NotFound
from claims import rules, workflow
from claims.facts import policy_terms
from claims.models import Claim
from trainees.id_numbers import InvalidIdNumber, normalize, parse_id_number
from trainees.models import IdNumberReveal, Trainee, TraineeFactChange
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


@dataclass(frozen=True)
class UsedTradeLevel:
    trade: str
    level: str
    unit: str
    year: int
    status: str


@dataclass(frozen=True)
class SubsidyHistory:
    """What a clerk may see of a person's subsidies in every unit."""

    year: int
    counted_this_year: int
    annual_limit: int | None
    used: list[UsedTradeLevel] = field(default_factory=list)
    by_year: dict[int, int] = field(default_factory=dict)

    @property
    def remaining_this_year(self) -> int | None:
        if self.annual_limit is None:
            return None
        return max(0, self.annual_limit - self.counted_this_year)


def trainees_visible_to(user: User) -> QuerySet[Trainee]:
    if not user.is_authenticated or not user.is_active:
        return Trainee.objects.none()
    return Trainee.objects.all()


def trainee_for(user: User, trainee_id: int) -> Trainee:
    try:
        return trainees_visible_to(user).get(pk=trainee_id)
    except (Trainee.DoesNotExist, ValueError, TypeError):
        raise NotFound("未找到该培训人员") from None


def trainee_by_id_number(user: User, id_number: str) -> Trainee | None:
    """The person with this number, or None. Raises ``InvalidIdNumber`` on a bad number."""
    number = parse_id_number(normalize(id_number)).number
    return trainees_visible_to(user).filter(id_number=number).first()


def subsidy_history(trainee: Trainee, *, year: int | None = None) -> SubsidyHistory:
    """Counting claims (submitted, approved, returned) in every unit, one query."""
    year = year or date.today().year
    claims = (
        Claim.objects.filter(trainee=trainee, status__in=rules.COUNTING_STATUSES)
        .select_related("unit", "trade", "level")
        .order_by("training_end")
    )
    counted_this_year = 0
    by_year: dict[int, int] = {}
    used = []
    for c in claims:
        if not rules.counts_toward_limits(c.program_id):
            continue
        end_year = c.training_end.year
        by_year[end_year] = by_year.get(end_year, 0) + 1
        if end_year == year:
            counted_this_year += 1
        if c.trade_id and c.level_id:
            used.append(
                UsedTradeLevel(
                    trade=c.trade.name,
                    level=c.level.name,
                    unit=c.unit.name,
                    year=end_year,
                    status=c.status,
                )
            )
    term = rules.term_in_force(policy_terms(), "annual_limit", on=date(year, 12, 31))
    return SubsidyHistory(
        year=year,
        counted_this_year=counted_this_year,
        annual_limit=int(term.value) if term else None,
        used=used,
        by_year=by_year,
    )


def id_number_reveal_refusal(user: User, trainee: Trainee) -> str | None:
    """Why ``user`` may not see ``trainee``'s full ID number, or None when they may.

    A clerk only for a person their unit registered or filed a claim for; the
    prefecture roles only for a person with a claim beyond a draft (one that reached
    review and payment): a person merely registered somewhere is nobody's business but
    the registering unit's.
    """
    if not user.is_authenticated or not user.is_active:
        return "请先登录"
    if user.role not in REVEALING_ROLES:
        return "您的角色不能查看完整身份证号码"
    claims = Claim.objects.filter(trainee=trainee)
    if user.is_clerk:
        if trainee.registered_by_unit_id == user.unit_id:
            return None
        if claims.filter(unit_id=user.unit_id).exists():
            return None
        return "只能查看本单位登记或申报人员的完整身份证号码"
    if claims.exclude(status=workflow.DRAFT).exists():
        return None
    return "该人员没有已提交的申报，无需查看完整身份证号码"


def id_number_reveals_of(user: User, trainee: Trainee) -> QuerySet[IdNumberReveal]:
    """The audit rows of full-number views of a person, for the auditor only."""
    if not user.is_authenticated or not user.is_auditor:
        return IdNumberReveal.objects.none()
    return IdNumberReveal.objects.filter(trainee=trainee).select_related("actor")


__all__ = [
    "REVEALING_ROLES",
    "InvalidIdNumber",
    "SubsidyHistory",
    "id_number_reveal_refusal",
    "id_number_reveals_of",
    "subsidy_history",
    "trainee_by_id_number",
    "trainee_fact_changes_of",
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
