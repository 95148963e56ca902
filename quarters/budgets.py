"""Fund budgets per unit and year, and approving against them (七(五): 目标任务和预算
执行"双监控").

- Finance enters each fund's yearly budget per unit (``budget_set``, or a whole year's
  grid at once with ``budgets_set``); each change is kept by the model's history: who,
  when, the amount before and after.
- ``budget_impact(claims)`` tells a reviewer, *before* approving, which (unit, year,
  fund) a selection would take past its budget and by how much.
- ``quarters.services.claim_approve`` asks ``approval_excess`` under the budget's row
  lock and refuses (Conflict ``over_budget``) unless a reason is given; with one it
  approves and ``override_record`` keeps the reason.

Whether money passes a budget is decided in one place, ``quarters.rules.budget_excess``;
this module only gathers the figures it is asked about.

The year is the calendar year in which the training ended (as 五(二) counts). A unit,
year and fund without a budget row has no limit.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any, cast

from django.db import transaction
from django.db.models import Q, QuerySet, Sum
from django.db.models.functions import ExtractYear
from django.utils import timezone

from accounts.models import User
from altay_skills.errors import DomainError, PermissionDenied
from altay_skills.lock_objects import lock_budgets
from claims import workflow
from claims.models import Claim
from claims.rules import SHORTFALL_FUNDS, ZERO, money, yuan
from programs.models import UNFUNDED, Fund, Unit, fund_label
from quarters import rules
from quarters.models import BudgetOverride, FundBudget, QuarterlyReport

MIN_YEAR, MAX_YEAR = 2000, 2100
#: The largest amount a budget column holds (max_digits=14, 2 places).
MAX_BUDGET = Decimal("999999999999.99")

BudgetKey = tuple[str, int, str | None]  # (unit, year, fund)
#: The funds claims draw on (原渠道 programs produce no claims, so need no budget here).
BUDGET_FUNDS = (
    Fund.SPECIAL.value,
    Fund.EMPLOYMENT.value,
    Fund.UNEMPLOYMENT_INSURANCE.value,
    Fund.POVERTY.value,
)


# --- Entering budgets -----------------------------------------------------------------
def budget_set(
    *,
    unit_id: str,
    year: int,
    fund: str,
    amount: Decimal | str,
    actor: User,
    note: str = "",
) -> FundBudget:
    """Finance enters or changes one fund's budget for a unit and year."""
    if not actor.is_finance:
        raise PermissionDenied("只有财政人员可以录入资金预算")
    if fund not in Fund.values:
        raise DomainError("invalid_fund", "资金渠道无效")
    if not isinstance(year, int) or not MIN_YEAR <= year <= MAX_YEAR:
        raise DomainError("invalid_year", f"年度应在{MIN_YEAR}—{MAX_YEAR}之间")
    try:
        value = Decimal(str(amount).replace(",", "").strip())
    except (InvalidOperation, ValueError):
        raise DomainError("invalid_amount", "预算金额应为数字") from None
    if not value.is_finite() or value < 0 or value.normalize().as_tuple().exponent < -2:  # type: ignore[operator]
        raise DomainError("invalid_amount", "预算金额应为不小于0、最多两位小数的数")
    if value > MAX_BUDGET:
        raise DomainError("invalid_amount", "预算金额过大")
    value = value.quantize(Decimal("0.01"))
    if not Unit.objects.filter(pk=unit_id).exists():
        raise DomainError("invalid_reference", "单位不存在")
    note = (note or "").strip()[:200]
    with transaction.atomic():
        locked = lock_budgets([(unit_id, year, fund)])
        budget = cast(FundBudget | None, next(iter(locked.values()), None))
        if budget is None:
            budget = FundBudget(unit_id=unit_id, year=year, fund=fund)
        elif budget.amount == value and budget.note == note:
            return budget  # nothing changed: no history row
        budget.amount = value
        budget.note = note
        budget.entered_by = actor
        budget.entered_at = timezone.now()
        budget._history_user = actor  # type: ignore[attr-defined]
        budget.save()
    return budget


def budget_clear(*, unit_id: str, year: int, fund: str, actor: User) -> bool:
    """Finance removes a budget: that unit, year and fund has no limit again. The
    history keeps the removal and who made it. False when there was none."""
    if not actor.is_finance:
        raise PermissionDenied("只有财政人员可以录入资金预算")
    with transaction.atomic():
        budget = next(iter(lock_budgets([(unit_id, year, fund)]).values()), None)
        if budget is None:
            return False
        budget._history_user = actor  # type: ignore[attr-defined]
        budget.delete()
    return True


def budgets_set(
    *,
    year: int,
    amounts: Mapping[tuple[str, str], str],
    actor: User,
    note: str = "",
) -> int:
    """Finance saves a year's budget grid, all or nothing: ``amounts`` maps (unit,
    fund) to the amount typed, a blank one removing that budget (no limit again). A
    cell whose amount did not change is left alone (a changed note alone rewrites
    nothing). Returns how many budgets changed. When any cell is refused nothing is
    saved: ``invalid_budgets`` with each refused cell's message in
    ``detail["cells"]`` ((unit, fund) → message)."""
    if not actor.is_finance:
        raise PermissionDenied("只有财政人员可以录入资金预算")
    current = {(b.unit_id, b.fund): b.amount for b in budgets_for_year(year)}
    changed = 0
    refused: dict[tuple[str, str], str] = {}
    with transaction.atomic():
        for (unit_id, fund), typed in amounts.items():
            value = typed.strip().replace(",", "")
            existing = current.get((unit_id, fund))
            try:
                if not value:
                    if existing is not None:
                        budget_clear(unit_id=unit_id, year=year, fund=fund, actor=actor)
                        changed += 1
                    continue
                if existing is not None and _same_amount(existing, value):
                    continue
                budget_set(
                    unit_id=unit_id,
                    year=year,
                    fund=fund,
                    amount=value,
                    actor=actor,
                    note=note,
                )
                changed += 1
            except DomainError as exc:
                refused[(unit_id, fund)] = exc.message
        if refused:  # raised inside the block: everything saved above rolls back
            raise DomainError(
                "invalid_budgets",
                f"有{len(refused)}项预算填写有误，均未保存",
                detail={"cells": refused},
            )
    return changed


def _same_amount(existing: Decimal, typed: str) -> bool:
    try:
        return Decimal(typed) == existing
    except ArithmeticError:
        return False


def budgets_for_year(year: int) -> QuerySet[FundBudget]:
    return (
        FundBudget.objects.filter(year=year)
        .select_related("unit", "entered_by")
        .order_by("unit__sort_order", "unit_id", "fund")
    )


@dataclass(frozen=True)
class BudgetChange:
    unit_name: str
    fund_label: str
    year: int
    before: Decimal | None  # None: there was no budget
    after: Decimal | None  # None: removed (no limit)
    by: str
    at: Any
    note: str


def budget_changes(year: int, *, limit: int = 100) -> list[BudgetChange]:
    """Every change of the year's budgets, newest first, from the history (one query)."""
    rows = list(
        FundBudget.history.filter(year=year)
        .select_related("history_user", "unit")
        .order_by("history_date", "history_id")
    )
    changes = []
    before: dict[tuple[str, str], Decimal | None] = {}
    for row in rows:
        key = (row.unit_id, row.fund)
        after = None if row.history_type == "-" else row.amount
        user = row.history_user
        changes.append(
            BudgetChange(
                unit_name=row.unit.name,
                fund_label=fund_label(row.fund, blank=UNFUNDED),
                year=row.year,
                before=before.get(key),
                after=after,
                by=(user.get_full_name() or user.username) if user else "—",
                at=row.history_date,
                note=row.note if row.history_type != "-" else "删除预算（不设上限）",
            )
        )
        before[key] = after
    changes.reverse()
    return changes[:limit]


# --- What approving would do ----------------------------------------------------------
@dataclass(frozen=True)
class BudgetImpact:
    """One (unit, year, fund) touched by a selection of claims to approve."""

    unit: str
    unit_name: str
    year: int
    fund: str
    budget: Decimal | None  # None: no budget entered, no limit
    approved: Decimal  # already approved
    selection: Decimal  # what approving the selection adds
    claims: int  # claims of the selection in this key

    @property
    def fund_label(self) -> str:
        return fund_label(self.fund, blank=UNFUNDED)

    @property
    def after(self) -> Decimal:
        return self.approved + self.selection

    @property
    def excess(self) -> rules.BudgetExcess | None:
        return rules.budget_excess(self.budget, self.approved, self.selection)

    @property
    def over_by(self) -> Decimal:
        return self.excess.over_by if self.excess else ZERO

    @property
    def is_over(self) -> bool:
        return self.excess is not None

    @property
    def remaining_after(self) -> Decimal | None:
        return rules.budget_remaining(self.budget, self.approved, self.selection)

    def message(self) -> str:
        return (
            f"{self.unit_name}{self.year}年{self.fund_label}预算{yuan(self.budget or ZERO)}元，"
            f"已核准{yuan(self.approved)}元，本次核准{yuan(self.selection)}元，"
            f"核准后{yuan(self.after)}元，超出预算{yuan(self.over_by)}元"
        )


def _claim_ids(claims: QuerySet[Claim] | Iterable[Claim | int]) -> QuerySet[Claim]:
    if isinstance(claims, QuerySet):
        return claims
    ids = [c.pk if isinstance(c, Claim) else int(c) for c in claims]
    return Claim.objects.filter(pk__in=ids)


def budget_impact(
    claims: QuerySet[Claim] | Iterable[Claim | int],
) -> list[BudgetImpact]:
    """For a selection of claims to approve: per (unit, year of training end, fund), the
    budget, what is already approved, what the selection adds, and how far past the
    budget that goes. Only the selection's submitted claims count (the others cannot be
    approved). A program 10 claim is counted in the fund its approval would charge
    (``approval_fund``: the claims approved in id order, as the bulk approval does).
    Three queries whatever the selection's size."""
    rows = list(
        _claim_ids(claims)
        .filter(status=workflow.SUBMITTED)
        .annotate(y=ExtractYear("training_end"))
        .values("pk", "unit_id", "unit__name", "y", "fund", "program_id", "amount")
        .order_by("pk")
    )
    if not rows:
        return []
    keys: set[BudgetKey] = set()
    for r in rows:
        keys.add((r["unit_id"], r["y"], r["fund"]))
        if r["fund"] and r["program_id"] in SHORTFALL_FUNDS:
            keys.add((r["unit_id"], r["y"], SHORTFALL_FUNDS[r["program_id"]]))
    budgets: dict[BudgetKey, Decimal] = {
        (b.unit_id, b.year, b.fund): b.amount
        for b in FundBudget.objects.filter(_keys_q(keys, "", year="year"))
    }
    approved = {
        (r["unit_id"], r["y"], r["fund"]): money(r["total"])
        for r in Claim.objects.filter(status=workflow.APPROVED)
        .filter(_keys_q(keys, "", year="training_end__year"))
        .annotate(y=ExtractYear("training_end"))
        .values("unit_id", "y", "fund")
        .annotate(total=Sum("approved_amount"))
        .order_by()
    }
    running = dict(approved)  # approved so far, as the selection is approved in order
    selection: dict[BudgetKey, tuple[Decimal, int]] = {}
    names: dict[str, str] = {}
    for r in rows:
        unit, year, amount = r["unit_id"], r["y"], money(r["amount"])
        names[unit] = r["unit__name"]
        fund = rules.charged_fund(
            r["fund"],
            SHORTFALL_FUNDS.get(r["program_id"]),
            budget=budgets.get((unit, year, r["fund"])),
            approved=running.get((unit, year, r["fund"]), ZERO),
            amount=amount,
        )
        key = (unit, year, fund)
        running[key] = running.get(key, ZERO) + amount
        total, n = selection.get(key, (ZERO, 0))
        selection[key] = (total + amount, n + 1)
    return [
        BudgetImpact(
            unit=unit,
            unit_name=names[unit],
            year=year,
            fund=fund or "",
            budget=budgets.get((unit, year, fund)),
            approved=approved.get((unit, year, fund), ZERO),
            selection=total,
            claims=n,
        )
        for (unit, year, fund), (total, n) in sorted(
            selection.items(), key=lambda i: (i[0][0], i[0][1], i[0][2] or "")
        )
    ]


def report_budget_impact(report: QuarterlyReport) -> list[BudgetImpact]:
    """``budget_impact`` of approving every claim of a report still awaiting decision."""
    return budget_impact(Claim.objects.filter(report=report))


def _keys_q(keys: Iterable[BudgetKey], prefix: str, *, year: str) -> Q:
    q = Q(pk__in=[])
    for unit, y, fund in keys:
        q |= Q(
            **{f"{prefix}unit_id": unit, f"{prefix}{year}": y, f"{prefix}fund": fund}
        )
    return q


# --- The guard on approval (called by quarters.services) ------------------------------
def lock_budgets_for(claim_ids: Iterable[int]) -> None:
    """Lock, in id order, the budget rows the claims would draw on, so that two
    reviewers approving into one fund are served one after the other. Taken before the
    trainee and claim locks (``altay_skills.lock_objects``: one order, no deadlock).
    A claim whose fund is fixed at approval (program 10, 三(三)10) may draw on its own
    fund or the shortfall fund: both rows are locked."""
    keys: set[tuple[str, int, str]] = set()
    for r in Claim.objects.filter(pk__in=list(claim_ids)).values(
        "unit_id", "training_end", "fund", "program_id"
    ):
        if not r["fund"]:
            continue
        year = r["training_end"].year
        keys.add((r["unit_id"], year, r["fund"]))
        shortfall = SHORTFALL_FUNDS.get(r["program_id"])
        if shortfall:
            keys.add((r["unit_id"], year, shortfall))
    lock_budgets(keys)


def _approved_in(claim: Claim, year: int, fund: str) -> Decimal:
    """What is approved already in the claim's (unit, year, fund), the claim aside."""
    return money(
        Claim.objects.filter(
            status=workflow.APPROVED,
            unit_id=claim.unit_id,
            training_end__year=year,
            fund=fund,
        )
        .exclude(pk=claim.pk)
        .aggregate(total=Sum("approved_amount"))["total"]
    )


def approval_fund(claim: Claim, amount: Decimal) -> str | None:
    """The fund approving ``amount`` on this claim charges (三(三)10): for program 10
    the employment fund while the unit's employment-fund budget for the year has room
    for it, the special fund beyond (``quarters.rules.charged_fund``); any other
    claim, its own fund. Called under the budget rows' lock (``lock_budgets_for``), so
    two approvals cannot both take the last of the room."""
    own = claim.program.fund if claim.program_id in SHORTFALL_FUNDS else claim.fund
    if claim.program_id not in SHORTFALL_FUNDS or not own:
        return claim.fund
    year = claim.training_end.year
    locked = lock_budgets([(claim.unit_id, year, own)])
    budget = next((cast(FundBudget, row).amount for row in locked.values()), None)
    return rules.charged_fund(
        own,
        SHORTFALL_FUNDS[claim.program_id],
        budget=budget,
        approved=_approved_in(claim, year, own),
        amount=amount,
    )


@dataclass(frozen=True)
class Excess(rules.BudgetExcess):
    """Approving a claim would take its (unit, year, fund) past the budget."""

    unit: str
    unit_name: str
    year: int
    fund: str

    def message(self) -> str:
        return (
            f"核准后将超出预算：{self.unit_name}{self.year}年"
            f"{fund_label(self.fund, blank=UNFUNDED)}"
            f"预算{yuan(self.budget)}元，已核准{yuan(self.approved)}元，"
            f"本笔{yuan(self.amount)}元，核准后{yuan(self.after)}元，"
            f"超出{yuan(self.over_by)}元。确需核准的，请填写超预算理由（七(五)）"
        )


def approval_excess(claim: Claim, amount: Decimal) -> Excess | None:
    """Would approving ``amount`` on this claim take its (unit, year, fund) past the
    budget? Called under the budget row's lock (``lock_budgets_for``)."""
    if not claim.fund:
        return None
    year = claim.training_end.year
    locked = lock_budgets([(claim.unit_id, year, claim.fund)])
    budget = next((cast(FundBudget, row).amount for row in locked.values()), None)
    if budget is None:
        return None
    approved = _approved_in(claim, year, claim.fund)
    if rules.budget_excess(budget, approved, amount) is None:
        return None
    return Excess(
        unit=claim.unit_id,
        unit_name=claim.unit.name,
        year=year,
        fund=claim.fund,
        budget=budget,
        approved=approved,
        amount=amount,
    )


def override_record(
    *, claim: Claim, excess: Excess, reason: str, actor: User
) -> BudgetOverride:
    return BudgetOverride.objects.create(
        claim=claim,
        unit_id=excess.unit,
        year=excess.year,
        fund=excess.fund,
        budget=excess.budget,
        approved_after=excess.after,
        reason=reason,
        actor=actor,
    )


def overrides(year: int, *, limit: int = 50) -> list[BudgetOverride]:
    return list(
        BudgetOverride.objects.filter(year=year)
        .select_related("unit", "actor", "claim")
        .order_by("-at", "-pk")[:limit]
    )
