"""The rules of the quarter stage, as plain Python: no Django import, ``Decimal`` only.

七(五) 对绩效目标实现程度和预算执行进度实行双监控: finance enters a fund's budget per
unit and year; an approval that would take the approved money past it needs a stated
reason. This module is the one place that compares money against a budget — the approval guard
(``quarters.budgets.approval_excess``), what a selection would do before it is approved
(``quarters.budgets.budget_impact``) and the dashboards' budget lines
(``reporting.dashboards``, ``reporting.review``) all ask it, so a page cannot show a
fund over budget while the approval guard lets the same figures pass.

The figures: ``budget`` (None when none was entered: no limit), ``approved`` (the
approved amounts already counted against it) and ``amount`` (what approving would add:
one claim, a selection, or everything still awaiting a decision). Past the budget means
strictly more than it: approving up to the budget exactly needs no reason.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

ZERO = Decimal("0.00")


@dataclass(frozen=True)
class BudgetExcess:
    """Approving ``amount`` on top of ``approved`` passes ``budget`` by ``over_by``."""

    budget: Decimal
    approved: Decimal
    amount: Decimal

    @property
    def after(self) -> Decimal:
        return self.approved + self.amount

    @property
    def over_by(self) -> Decimal:
        return self.after - self.budget


def budget_excess(
    budget: Decimal | None, approved: Decimal, amount: Decimal = ZERO
) -> BudgetExcess | None:
    """七(五): would approving ``amount`` on top of ``approved`` take the money past
    ``budget``? None when it stays within (equal to the budget is within) or when no
    budget was entered. With ``amount`` zero: is the approved money past it already
    (which only an approval with a stated reason, or a budget lowered afterwards, can
    bring about)."""
    if budget is None or approved + amount <= budget:
        return None
    return BudgetExcess(budget=budget, approved=approved, amount=amount)


def budget_remaining(
    budget: Decimal | None, approved: Decimal, pending: Decimal = ZERO
) -> Decimal | None:
    """What is left of ``budget`` once ``approved`` and ``pending`` are taken (negative
    when they pass it); None when no budget was entered (no limit)."""
    if budget is None:
        return None
    return budget - approved - pending


def charged_fund(
    fund: str | None,
    shortfall: str | None,
    *,
    budget: Decimal | None,
    approved: Decimal,
    amount: Decimal,
) -> str | None:
    """三(三)10 经费从就业专项资金中列支，不足部分从职业技能提升行动专项经费中补充: the
    fund a claim is charged to when approved. With a ``shortfall`` fund (program 10:
    ``claims.rules.SHORTFALL_FUNDS``), its own ``fund`` (the employment fund) while the
    unit's ``budget`` of it for the year has room for the whole ``amount`` on top of
    what is ``approved`` in it already, else the shortfall fund; without a budget (no
    limit), its own fund. A claim is charged to one fund whole (a payment line has
    one). Without a shortfall fund: its own fund."""
    if shortfall is None or fund is None:
        return fund
    if budget_excess(budget, approved, amount) is None:
        return fund
    return shortfall


# --- Public notice (公示, issue 17) ---------------------------------------------------------
def notice_closes_on(
    opened_on: date, working_days: int, is_working_day: Callable[[date], bool]
) -> date:
    """The day a public notice opened on ``opened_on`` is over: the day after its
    ``working_days``-th working day, the opening day counted when it is a working day
    (公示期自报送之日起计算, 遇节假日顺延). No working days: closed when it opens."""
    day, counted = opened_on, 0
    while counted < working_days:
        if is_working_day(day):
            counted += 1
        day += timedelta(days=1)
    return day


def masked_name(name: str) -> str:
    """A name on a public notice: the first and last characters, the middle masked
    (张三丰 → 张*丰, 欧阳小明 → 欧**明); two characters keep the first (张三 → 张*),
    one is masked whole."""
    name = name.strip()
    if len(name) <= 1:
        return "*" * len(name)
    if len(name) == 2:
        return f"{name[0]}*"
    return f"{name[0]}{'*' * (len(name) - 2)}{name[-1]}"
