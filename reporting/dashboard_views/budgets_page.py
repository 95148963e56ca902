"""Finance's budget page (七(五)): the year's grid of budgets per unit and fund, their
execution, their history and the approvals past them. Saving the grid is one service,
``quarters.budgets.budgets_set``: all or nothing."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods

from accounts.views import AuthedRequest, renders_domain_errors
from altay_skills.errors import DomainError
from programs.models import UNFUNDED, Unit, fund_label
from quarters import budgets
from reporting import dashboards
from reporting.dashboard_views.frame import (
    context,
    require,
    year_asked,
    year_posted,
)
from reporting.dashboard_views.panels import budget_panel
from reporting.dashboards import BudgetLine, BudgetsOverview

#: A cell of the grid is the form field ``b-<unit>-<fund>``.
CELL_PREFIX = "b-"


@dataclass
class BudgetCell:
    unit: str
    fund: str
    label: str
    name: str
    value: str
    current: Decimal | None
    line: BudgetLine | None
    error: str = ""


@dataclass
class BudgetGridRow:
    unit: Unit
    cells: list[BudgetCell] = field(default_factory=list)


def cell_name(unit: str, fund: str) -> str:
    return f"{CELL_PREFIX}{unit}-{fund}"


def _grid(
    overview: BudgetsOverview,
    posted: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
) -> list[BudgetGridRow]:
    by_key = {(x.unit, x.fund): x for x in overview.lines}
    rows = []
    for u in overview.units:
        row = BudgetGridRow(u)
        for fund in budgets.BUDGET_FUNDS:
            name = cell_name(u.code, fund)
            amount = overview.entered.get((u.code, fund))
            value = (
                posted[name]
                if posted is not None and name in posted
                else ("" if amount is None else f"{amount:.2f}")
            )
            row.cells.append(
                BudgetCell(
                    unit=u.code,
                    fund=fund,
                    label=fund_label(fund, blank=UNFUNDED),
                    name=name,
                    value=value,
                    current=amount,
                    line=by_key.get((u.code, fund)),
                    error=(errors or {}).get(name, ""),
                )
            )
        rows.append(row)
    return rows


def _typed_amounts(posted: dict[str, str]) -> dict[tuple[str, str], str]:
    """The grid's cells as (unit, fund) → the amount typed; other fields are left out."""
    amounts = {}
    for name, typed in posted.items():
        parts = name.split("-", 2)
        if len(parts) == 3:
            amounts[(parts[1], parts[2])] = typed
    return amounts


@login_required
@require_http_methods(["GET", "POST"])
@renders_domain_errors
def budgets_page(request: AuthedRequest) -> HttpResponse:
    user = request.user
    require(user.is_finance, "只有财政人员可以录入资金预算")
    if request.method == "GET":
        return _render(request, year_asked(request))
    year = year_posted(request)
    posted = {
        k: request.POST.get(k, "") for k in request.POST if k.startswith(CELL_PREFIX)
    }
    note = request.POST.get("note", "")
    try:
        changed = budgets.budgets_set(
            year=year, amounts=_typed_amounts(posted), actor=user, note=note
        )
    except DomainError as exc:
        messages.error(request, exc.message)
        refused = (exc.detail or {}).get("cells", {})
        errors = {cell_name(*key): message for key, message in refused.items()}
        return _render(
            request,
            year,
            posted=posted,
            errors=errors,
            note=note,
            status=exc.status_code,
        )
    if changed:
        messages.success(request, f"已保存{year}年度{changed}项预算。")
    else:
        messages.info(request, "预算未发生变化。")
    return redirect(f"{reverse('dashboards:budgets')}?year={year}")


def _render(
    request: AuthedRequest,
    year: int,
    *,
    posted: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
    note: str = "",
    status: int = 200,
) -> HttpResponse:
    overview = dashboards.budgets_overview(year)
    panel = budget_panel("budget", "预算执行（按资金渠道，全地区）", overview.funds)
    return render(
        request,
        "dashboards/budgets.html",
        context(
            request,
            "dashboards:budgets",
            year=year,
            years=overview.years,
            funds=[(f, fund_label(f, blank=UNFUNDED)) for f in budgets.BUDGET_FUNDS],
            grid=_grid(overview, posted, errors),
            panels=[panel],
            changes=overview.changes,
            overrides=overview.overrides,
            note=note,
        ),
        status=status,
    )
