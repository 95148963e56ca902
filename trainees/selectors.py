"""Reads of the registry. The registry is prefecture-wide; a person's history shows to
any clerk as counts and used trade/levels, with the ID number masked."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from django.db.models import QuerySet

from accounts.models import User
from altay_skills.errors import NotFound
from claims import rules
from claims.models import Claim
from programs.selectors import policy_terms
from trainees.id_numbers import InvalidIdNumber, normalize, parse_id_number
from trainees.models import Trainee


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


__all__ = [
    "InvalidIdNumber",
    "SubsidyHistory",
    "subsidy_history",
    "trainee_by_id_number",
]
