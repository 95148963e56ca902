"""Each role's dashboard, the anomalies, the budgets and the November review.

Thin, like the other views: a selector of ``reporting.dashboards`` / ``anomalies`` /
``budgets`` / ``review`` computes the figures in SQL; this module only lays them out as
*panels* — a chart (Chart.js, served from static/vendor) with its numbers in a table
beside it — and checks who may look:

- prefecture dashboard and anomalies: the reviewer and the auditor;
- a unit's dashboard: its own clerks; the reviewer, auditor and finance for any unit
  (a clerk asking for another unit gets a 404, as for a missing one);
- finance dashboard: finance, the reviewer and the auditor;
- budgets: finance only (who enters them);
- the November review: the reviewer, auditor and finance; a clerk sees their own
  unit's page.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db import transaction
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods

from accounts.models import User
from accounts.views import AuthedRequest, renders_domain_errors
from altay_skills.errors import DomainError, NotFound, PermissionDenied
from claims.rules import yuan
from programs.models import UNFUNDED, Fund, Unit, fund_label
from quarters import budgets
from reporting import anomalies as anomaly_selectors
from reporting import dashboards, review
from reporting.dashboards import (
    BudgetLine,
    Figures,
    FundExecution,
    Row,
)

#: Colours of the series (the app's navy first), and of the backlog's age bands.
PALETTE = ["#1d4f91", "#f0b429", "#2f9e73", "#c2410c", "#7c3aed", "#0e7490"]
REQUESTED, APPROVED, PAID, PENDING, REMAINING = (
    "#9db7dc",
    "#1d4f91",
    "#2f9e73",
    "#f0b429",
    "#d5dde8",
)
AGES = ["#8fbf9f", "#f0b429", "#c2410c"]


# --- Formatting ------------------------------------------------------------------------
def _int(n: int) -> str:
    return f"{n:,}"


def _yuan(d: Decimal | None, *, none: str = "未设预算") -> str:
    return none if d is None else yuan(d)


def _pct(p: Decimal | None) -> str:
    return "—" if p is None else f"{p}%"


def _float(d: Decimal | None) -> float:
    return float(d) if d is not None else 0.0


@dataclass(frozen=True)
class Cell:
    text: str
    num: bool = False
    href: str = ""
    cls: str = ""
    title: str = ""


def short(text: str, width: int = 14) -> str:
    """A long program name cut for a chart axis or a narrow table column."""
    return text if len(text) <= width else text[: width - 1] + "…"


def label_cell(text: str, *, width: int = 14, href: str = "") -> Cell:
    """A row label, shortened, with the full text as its tooltip."""
    return Cell(short(text, width), href=href, title=text if len(text) > width else "")


def num(text: str, *, href: str = "", cls: str = "") -> Cell:
    return Cell(text, num=True, href=href, cls=cls)


@dataclass
class Panel:
    """One chart and, beside it, the table of its numbers."""

    key: str
    title: str
    chart: dict[str, Any]
    headers: list[Cell]
    rows: list[list[Cell]]
    total: list[Cell] | None = None
    note: str = ""
    tall: bool = False

    @property
    def chart_id(self) -> str:
        return f"chart-{self.key}"

    @property
    def data_id(self) -> str:
        return f"chart-{self.key}-data"


def _headers(*names: str) -> list[Cell]:
    return [Cell(n, num=i > 0) for i, n in enumerate(names)]


def _chart(
    kind: str,
    labels: list[str],
    datasets: list[dict[str, Any]],
    *,
    fmt: str = "int",
    fmt2: str = "",
    horizontal: bool = False,
    stacked: bool = False,
) -> dict[str, Any]:
    """A Chart.js config as data: ``static/app/dashboards.js`` turns it into a chart
    (no script in the page, so a strict Content-Security-Policy holds)."""
    return {
        "type": kind,
        "labels": labels,
        "datasets": datasets,
        "format": fmt,
        "format2": fmt2,
        "horizontal": horizontal,
        "stacked": stacked,
    }


def _series(
    label: str, data: Sequence[float | int], color: str, **extra: Any
) -> dict[str, Any]:
    return {"label": label, "data": data, "color": color, **extra}


# --- Who may look --------------------------------------------------------------------
def _require(allowed: bool, message: str) -> None:
    if not allowed:
        raise PermissionDenied(message)


def _sees_prefecture(user: User) -> bool:
    return user.is_reviewer or user.is_auditor


def _sees_finance(user: User) -> bool:
    return user.is_finance or user.is_reviewer or user.is_auditor


def _year(request: AuthedRequest) -> int:
    """``?year=``, else the current year (the demo data is 2020–2021: pick it)."""
    raw = request.GET.get("year", "")
    if (
        raw.isascii()
        and raw.isdigit()
        and budgets.MIN_YEAR <= int(raw) <= budgets.MAX_YEAR
    ):
        return int(raw)
    return timezone.localdate().year


def _tabs(user: User) -> list[tuple[str, str, str]]:
    """(url name, label, test id) of the dashboards this user may open."""
    tabs = []
    if _sees_prefecture(user):
        tabs.append(("dashboards:prefecture", "全地区", "tab-prefecture"))
    if user.is_clerk or _sees_finance(user):
        tabs.append(
            ("dashboards:unit", "本单位" if user.is_clerk else "单位", "tab-unit")
        )
    if _sees_finance(user):
        tabs.append(("dashboards:finance", "资金拨付", "tab-finance"))
    if _sees_prefecture(user):
        tabs.append(("dashboards:anomalies", "异常线索", "tab-anomalies"))
    if user.is_finance:
        tabs.append(("dashboards:budgets", "资金预算", "tab-budgets"))
    return tabs


def _context(request: AuthedRequest, current: str, **extra: Any) -> dict[str, Any]:
    year = extra.get("year") or _year(request)
    years = sorted(set(extra.pop("years", []) or []) | {timezone.localdate().year})
    return {
        "tabs": _tabs(request.user),
        "current_tab": current,
        "year": year,
        "years": years,
        "target": dashboards.annual_target(),
        "review_url": _review_url(request.user, year),
        **extra,
    }


def _review_url(user: User, year: int) -> str:
    if user.is_clerk and user.unit_id:
        return reverse("dashboards:review_unit", args=[year, user.unit_id])
    if _sees_finance(user):
        return reverse("dashboards:review", args=[year])
    return ""


# --- The entry ---------------------------------------------------------------------------
@login_required
@require_GET
@renders_domain_errors
def index(request: AuthedRequest) -> HttpResponse:
    user = request.user
    query = f"?{request.GET.urlencode()}" if request.GET else ""
    if user.is_clerk:
        return redirect(reverse("dashboards:unit") + query)
    if user.is_finance:
        return redirect(reverse("dashboards:finance") + query)
    if _sees_prefecture(user):
        return redirect(reverse("dashboards:prefecture") + query)
    raise PermissionDenied("您的角色没有统计看板")


# --- Panels shared by the pages ------------------------------------------------------------
def _kpis(total: Figures, *, target: int | None = None) -> list[dict[str, Any]]:
    cards = []
    if target is not None:
        cards.append(
            {
                "label": "培训人次 / 年度目标",
                "value": f"{_int(total.person_times)} / {_int(target)}",
                "progress": dashboards.percent(total.person_times, target),
                "key": "person-times",
            }
        )
    else:
        cards.append(
            {
                "label": "培训人次",
                "value": _int(total.person_times),
                "key": "person-times",
            }
        )
    cards += [
        {"label": "申请金额（元）", "value": yuan(total.requested), "key": "requested"},
        {"label": "核准金额（元）", "value": yuan(total.approved), "key": "approved"},
        {"label": "已拨付（元）", "value": yuan(total.paid), "key": "paid"},
        {"label": "待审金额（元）", "value": yuan(total.pending), "key": "pending"},
    ]
    return cards


def _target_panel(total: Figures, target: int) -> Panel:
    done = total.person_times
    left = max(target - done, 0)
    return Panel(
        key="target",
        title="年度目标进度（不少于1万人次）",
        chart=_chart(
            "doughnut",
            ["已完成", "尚差"],
            [_series("人次", [done, left], APPROVED, colors=[APPROVED, REMAINING])],
        ),
        headers=_headers("项目", "人次"),
        rows=[
            [Cell("年度目标"), num(_int(target))],
            [Cell("已完成"), num(_int(done))],
            [Cell("完成率"), num(_pct(dashboards.percent(done, target)))],
            [Cell("尚差"), num(_int(left))],
        ],
    )


def _month_panel(months: list[Row], *, with_amount: bool = False) -> Panel:
    cumulative, running = [], 0
    for r in months:
        running += r.figures.person_times
        cumulative.append(running)
    datasets = [
        _series("当月人次", [r.figures.person_times for r in months], APPROVED),
    ]
    if with_amount:
        datasets.append(
            _series(
                "核准金额（元）",
                [_float(r.figures.approved) for r in months],
                PENDING,
                type="line",
                y2=True,
            )
        )
        headers = _headers("月份", "人次", "累计", "核准金额（元）")
        rows = [
            [
                Cell(r.label),
                num(_int(r.figures.person_times)),
                num(_int(c)),
                num(yuan(r.figures.approved)),
            ]
            for r, c in zip(months, cumulative, strict=True)
        ]
    else:
        datasets.append(_series("累计人次", cumulative, PENDING, type="line", y2=True))
        headers = _headers("月份", "人次", "累计")
        rows = [
            [Cell(r.label), num(_int(r.figures.person_times)), num(_int(c))]
            for r, c in zip(months, cumulative, strict=True)
        ]
    return Panel(
        key="months",
        title="按月培训人次（按培训结束月份）",
        chart=_chart(
            "bar",
            [r.label for r in months],
            datasets,
            fmt2="money" if with_amount else "int",
        ),
        headers=headers,
        rows=rows,
        tall=True,
    )


def _unit_href(code: str, year: int) -> str:
    return f"{reverse('dashboards:unit')}?unit={code}&year={year}"


def _units_panel(units: list[Row], year: int, target: int) -> Panel:
    return Panel(
        key="units",
        title="各单位培训人次",
        chart=_chart(
            "bar",
            [r.label for r in units],
            [_series("人次", [r.figures.person_times for r in units], APPROVED)],
            horizontal=True,
        ),
        headers=_headers("单位", "人次", "占全地区目标"),
        rows=[
            [
                Cell(r.label, href=_unit_href(r.key, year)),
                num(_int(r.figures.person_times)),
                num(_pct(dashboards.percent(r.figures.person_times, target, places=2))),
            ]
            for r in units
        ],
        total=[
            Cell("合计"),
            num(_int(sum(r.figures.person_times for r in units))),
            num(
                _pct(
                    dashboards.percent(
                        sum(r.figures.person_times for r in units), target, places=2
                    )
                )
            ),
        ],
        tall=True,
    )


def _money_panel(
    key: str, title: str, rows: list[Row], total: Figures, *, first: str = "单位"
) -> Panel:
    return Panel(
        key=key,
        title=title,
        chart=_chart(
            "bar",
            [r.label for r in rows],
            [
                _series("申请", [_float(r.figures.requested) for r in rows], REQUESTED),
                _series("核准", [_float(r.figures.approved) for r in rows], APPROVED),
                _series("已拨付", [_float(r.figures.paid) for r in rows], PAID),
            ],
            fmt="money",
        ),
        headers=_headers(first, "申请（元）", "核准（元）", "已拨付（元）"),
        rows=[
            [
                label_cell(r.label),
                num(yuan(r.figures.requested)),
                num(yuan(r.figures.approved)),
                num(yuan(r.figures.paid)),
            ]
            for r in rows
        ],
        total=[
            Cell("合计"),
            num(yuan(total.requested)),
            num(yuan(total.approved)),
            num(yuan(total.paid)),
        ],
        tall=len(rows) > 5,
    )


def _programs_panel(programs: list[Row]) -> Panel:
    return Panel(
        key="programs",
        title="按项目：培训人次与核准金额",
        chart=_chart(
            "bar",
            [short(r.label) for r in programs],
            [_series("人次", [r.figures.person_times for r in programs], APPROVED)],
            horizontal=True,
        ),
        headers=_headers("项目", "人次", "核准金额（元）"),
        rows=[
            [
                label_cell(r.label, width=18),
                num(_int(r.figures.person_times)),
                num(yuan(r.figures.approved)),
            ]
            for r in programs
        ],
        note="项目11（技能脱贫千校行动）为就学补助，不计培训人次，金额照计。",
    )


def _rates_panel(
    key: str, title: str, rows: list[Row], *, first: str = "单位"
) -> Panel:
    return Panel(
        key=key,
        title=title,
        chart=_chart(
            "bar",
            [short(r.label) for r in rows],
            [
                _series(
                    "合格率", [_float(r.figures.pass_rate) for r in rows], APPROVED
                ),
                _series(
                    "就业率", [_float(r.figures.employment_rate) for r in rows], PAID
                ),
            ],
            fmt="percent",
        ),
        headers=_headers(first, "人次", "合格", "合格率", "就业", "就业率"),
        rows=[
            [
                label_cell(r.label, width=12),
                num(_int(r.figures.person_times)),
                num(_int(r.figures.passed)),
                num(_pct(r.figures.pass_rate)),
                num(_int(r.figures.employed)),
                num(_pct(r.figures.employment_rate)),
            ]
            for r in rows
        ],
        tall=len(rows) > 5,
    )


def _budget_panel(
    key: str, title: str, lines: list[FundExecution] | list[BudgetLine]
) -> Panel:
    labels = [line.fund_short for line in lines]
    remaining = [max(_float(line.remaining), 0.0) for line in lines]
    return Panel(
        key=key,
        title=title,
        chart=_chart(
            "bar",
            labels,
            [
                _series("已核准", [_float(x.approved) for x in lines], APPROVED),
                _series("待审占用", [_float(x.pending) for x in lines], PENDING),
                _series("预算余额", remaining, REMAINING),
            ],
            fmt="money",
            horizontal=True,
            stacked=True,
        ),
        headers=_headers("资金渠道", "预算", "已核准", "待审占用", "已拨付", "余额"),
        rows=[
            [
                Cell(x.fund_short, title=x.fund_label),
                num(_yuan(x.budget)),
                num(yuan(x.approved)),
                num(yuan(x.pending)),
                num(yuan(x.paid)),
                num(
                    _yuan(x.remaining, none="不限"),
                    cls="text-danger fw-semibold"
                    if x.remaining is not None and x.remaining < 0
                    else "",
                ),
            ]
            for x in lines
        ],
        note="余额＝预算－已核准－待审占用（待审核申报的核定金额），只计已录入预算的"
        "单位；未录入预算的单位、年度、资金渠道不设上限。",
    )


def _backlog_panel(rows: list[dashboards.BacklogRow]) -> Panel:
    return Panel(
        key="backlog",
        title="待审核积压（按单位、提交至今天数）",
        chart=_chart(
            "bar",
            [r.unit_name for r in rows],
            [
                _series(label, [getattr(r, band) for r in rows], AGES[i])
                for i, (band, label) in enumerate(dashboards.BACKLOG_BANDS)
            ],
            horizontal=True,
            stacked=True,
        ),
        headers=_headers(
            "单位", "0–7天", "8–30天", "30天以上", "合计", "核定金额（元）"
        ),
        rows=[
            [
                Cell(r.unit_name),
                num(_int(r.fresh)),
                num(_int(r.middle)),
                num(_int(r.old), cls="text-danger fw-semibold" if r.old else ""),
                num(_int(r.total)),
                num(yuan(r.amount)),
            ]
            for r in rows
        ],
        total=[
            Cell("合计"),
            num(_int(sum(r.fresh for r in rows))),
            num(_int(sum(r.middle for r in rows))),
            num(_int(sum(r.old for r in rows))),
            num(_int(sum(r.total for r in rows))),
            num(yuan(sum((r.amount for r in rows), Decimal(0)))),
        ],
        note="已随季度报表报送、尚待地区审核的申报，按申报提交时间计天数；不分年度。",
        tall=True,
    )


# --- Prefecture ------------------------------------------------------------------------------
@login_required
@require_GET
@renders_domain_errors
def prefecture(request: AuthedRequest) -> HttpResponse:
    user = request.user
    _require(_sees_prefecture(user), "只有地区审核人和督查可以查看全地区统计")
    year = _year(request)
    d = dashboards.prefecture_dashboard(year)
    panels = [
        _target_panel(d.total, d.target),
        _month_panel(d.months),
        _units_panel(d.units, year, d.target),
        _money_panel("unit-money", "各单位金额：申请、核准、拨付", d.units, d.total),
        _programs_panel(d.programs),
        _money_panel(
            "fund-money",
            "按资金渠道：申请、核准、拨付",
            d.funds,
            d.total,
            first="资金渠道",
        ),
        _budget_panel("budget", "预算执行（按资金渠道，全地区）", d.budget_funds),
        _backlog_panel(d.backlog),
        _rates_panel("unit-rates", "各单位合格率、就业率", d.units),
        _rates_panel("program-rates", "各项目合格率、就业率", d.programs, first="项目"),
    ]
    return render(
        request,
        "dashboards/prefecture.html",
        _context(
            request,
            "dashboards:prefecture",
            year=year,
            years=d.years,
            dashboard=d,
            kpis=_kpis(d.total, target=d.target),
            panels=panels,
            budget_lines=d.budget_lines,
        ),
    )


# --- A unit ------------------------------------------------------------------------------------
def _unit_for(request: AuthedRequest) -> Unit:
    user = request.user
    wanted = request.GET.get("unit", "")
    if user.is_clerk:
        if wanted and wanted != user.unit_id:
            raise NotFound("未找到该单位")
        return Unit.objects.get(pk=user.unit_id)
    _require(_sees_finance(user), "您的角色不能查看单位统计")
    unit = Unit.objects.filter(pk=wanted).first() if wanted else None
    if wanted and unit is None:
        raise NotFound("未找到该单位")
    return unit or Unit.objects.order_by("sort_order", "code").first()  # type: ignore[return-value]


def _unit_programs_panel(programs: list[Row]) -> Panel:
    """The rates chart, with the approved money beside it (counts left to the rates)."""
    panel = _rates_panel(
        "programs", "按项目：人次、合格率、就业率", programs, first="项目"
    )
    panel.headers = _headers("项目", "人次", "合格率", "就业率", "核准金额（元）")
    panel.rows = [
        [
            label_cell(r.label, width=12),
            num(_int(r.figures.person_times)),
            num(_pct(r.figures.pass_rate)),
            num(_pct(r.figures.employment_rate)),
            num(yuan(r.figures.approved)),
        ]
        for r in programs
    ]
    return panel


@login_required
@require_GET
@renders_domain_errors
def unit(request: AuthedRequest) -> HttpResponse:
    chosen = _unit_for(request)
    year = _year(request)
    d = dashboards.unit_dashboard(year, chosen)
    panels = [
        _month_panel(d.months, with_amount=True),
        _unit_programs_panel(d.programs),
        _money_panel(
            "fund-money",
            "按资金渠道：申请、核准、拨付",
            d.funds,
            d.total,
            first="资金渠道",
        ),
        _budget_panel("budget", "预算执行（按资金渠道）", d.budget_lines),
    ]
    return render(
        request,
        "dashboards/unit.html",
        _context(
            request,
            "dashboards:unit",
            year=year,
            years=d.years,
            dashboard=d,
            kpis=_kpis(d.total),
            panels=panels,
            all_units=[] if request.user.is_clerk else dashboards.units(),
        ),
    )


# --- Finance --------------------------------------------------------------------------------------
def _quarter_fund_panel(d: dashboards.FinanceDashboard) -> Panel:
    funds = sorted(
        {qf.fund for qf in d.quarter_funds if qf.fund},
        key=lambda f: (Fund.values.index(f) if f in Fund.values else 99, f),
    )
    table = {(qf.quarter, qf.fund): qf.figures for qf in d.quarter_funds}
    labels = [r.label for r in d.quarters]
    return Panel(
        key="quarter-fund",
        title="按季度、资金渠道的核准金额",
        chart=_chart(
            "bar",
            labels,
            [
                _series(
                    fund_label(f, blank=UNFUNDED),
                    [
                        _float(table.get((q, f), dashboards.EMPTY).approved)
                        for q in range(1, 5)
                    ],
                    PALETTE[i % len(PALETTE)],
                )
                for i, f in enumerate(funds)
            ],
            fmt="money",
            stacked=True,
        ),
        headers=_headers("季度 · 资金渠道", "核准", "已拨付", "未拨付"),
        rows=[
            [
                Cell(f"{d.year}Q{qf.quarter} · {fund_label(qf.fund, blank=UNFUNDED)}"),
                num(yuan(qf.figures.approved)),
                num(yuan(qf.figures.paid_on_approved)),
                num(yuan(qf.figures.outstanding)),
            ]
            for qf in d.quarter_funds
        ],
        total=[
            Cell("合计"),
            num(yuan(d.total.approved)),
            num(yuan(d.total.paid_on_approved)),
            num(yuan(d.total.outstanding)),
        ],
        note="季度按培训结束日期所在季度；已拨付只计已核准申报上的拨付（含先行拨付）。",
        tall=True,
    )


def _paid_panel(d: dashboards.FinanceDashboard) -> Panel:
    return Panel(
        key="paid",
        title="已拨付与未拨付（按资金渠道）",
        chart=_chart(
            "bar",
            [r.label for r in d.funds],
            [
                _series(
                    "已拨付",
                    [_float(r.figures.paid_on_approved) for r in d.funds],
                    PAID,
                ),
                _series(
                    "未拨付", [_float(r.figures.outstanding) for r in d.funds], PENDING
                ),
            ],
            fmt="money",
            horizontal=True,
            stacked=True,
        ),
        headers=_headers("资金渠道", "核准", "已拨付", "未拨付"),
        rows=[
            [
                label_cell(r.label),
                num(yuan(r.figures.approved)),
                num(yuan(r.figures.paid_on_approved)),
                num(yuan(r.figures.outstanding)),
            ]
            for r in d.funds
        ],
        total=[
            Cell("合计"),
            num(yuan(d.total.approved)),
            num(yuan(d.total.paid_on_approved)),
            num(yuan(d.total.outstanding)),
        ],
    )


@login_required
@require_GET
@renders_domain_errors
def finance(request: AuthedRequest) -> HttpResponse:
    _require(_sees_finance(request.user), "只有财政、地区审核人和督查可以查看资金统计")
    year = _year(request)
    d = dashboards.finance_dashboard(year)
    kpis = [
        {"label": "核准金额（元）", "value": yuan(d.total.approved), "key": "approved"},
        {
            "label": "已拨付（元）",
            "value": yuan(d.total.paid_on_approved),
            "key": "paid",
        },
        {
            "label": "未拨付（元）",
            "value": yuan(d.total.outstanding),
            "key": "outstanding",
        },
        {
            "label": "拨付失败待重新拨付",
            "value": f"{d.failed.count} 笔 · {yuan(d.failed.amount)} 元",
            "key": "failed",
        },
    ]
    panels = [
        _quarter_fund_panel(d),
        _paid_panel(d),
        _budget_panel("budget", "预算执行（按资金渠道，全地区）", d.budget_funds),
    ]
    return render(
        request,
        "dashboards/finance.html",
        _context(
            request,
            "dashboards:finance",
            year=year,
            years=d.years,
            dashboard=d,
            kpis=kpis,
            panels=panels,
            budget_lines=d.budget_lines,
        ),
    )


# --- Anomalies --------------------------------------------------------------------------------
@login_required
@require_GET
@renders_domain_errors
def anomalies(request: AuthedRequest) -> HttpResponse:
    _require(_sees_prefecture(request.user), "只有地区审核人和督查可以查看异常线索")
    found = anomaly_selectors.anomalies()
    kinds = [
        ("certificates", "同一证书编号多次申报", len(found.certificates)),
        ("overlaps", "同一人培训时间重叠", len(found.overlaps)),
        ("bursts", f"同一机构单日申报≥{found.claims_per_day}笔", len(found.bursts)),
        ("ages", f"培训时年龄不在{found.min_age}—{found.max_age}岁", len(found.ages)),
        ("phones", f"同一电话号码≥{found.phone_min_trainees}人", len(found.phones)),
    ]
    panel = Panel(
        key="anomalies",
        title="异常线索统计",
        chart=_chart(
            "bar",
            [k[1] for k in kinds],
            [_series("条数", [k[2] for k in kinds], "#c2410c")],
            horizontal=True,
        ),
        headers=_headers("类型", "条数"),
        rows=[[Cell(label, href=f"#{key}"), num(_int(n))] for key, label, n in kinds],
        total=[Cell("合计"), num(_int(found.total))],
    )
    return render(
        request,
        "dashboards/anomalies.html",
        _context(request, "dashboards:anomalies", found=found, panels=[panel]),
    )


# --- Budgets ---------------------------------------------------------------------------------
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


def _budget_grid(
    year: int,
    lines: list[BudgetLine],
    posted: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
) -> list[BudgetGridRow]:
    current = {(b.unit_id, b.fund): b.amount for b in budgets.budgets_for_year(year)}
    by_key = {(x.unit, x.fund): x for x in lines}
    rows = []
    for u in dashboards.units():
        row = BudgetGridRow(u)
        for fund in budgets.BUDGET_FUNDS:
            name = f"b-{u.code}-{fund}"
            amount = current.get((u.code, fund))
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


@login_required
@require_http_methods(["GET", "POST"])
@renders_domain_errors
def budgets_page(request: AuthedRequest) -> HttpResponse:
    user = request.user
    _require(user.is_finance, "只有财政人员可以录入资金预算")
    year = _year(request) if request.method == "GET" else _posted_year(request)
    posted: dict[str, str] | None = None
    errors: dict[str, str] = {}
    status = 200
    if request.method == "POST":
        posted = {
            k: request.POST.get(k, "") for k in request.POST if k.startswith("b-")
        }
        note = request.POST.get("note", "")
        try:
            changed = _save_budgets(year, posted, note, user, errors)
        except DomainError as exc:
            messages.error(request, exc.message)
            status = exc.status_code
        else:
            if changed:
                messages.success(request, f"已保存{year}年度{changed}项预算。")
            else:
                messages.info(request, "预算未发生变化。")
            return redirect(f"{reverse('dashboards:budgets')}?year={year}")
    all_units = dashboards.units()
    lines = dashboards.budget_execution(year, all_units)
    panel = _budget_panel(
        "budget", "预算执行（按资金渠道，全地区）", dashboards.execution_by_fund(lines)
    )
    years = set(dashboards.years_with_data()) | {year, timezone.localdate().year + 1}
    return render(
        request,
        "dashboards/budgets.html",
        _context(
            request,
            "dashboards:budgets",
            year=year,
            years=sorted(years),
            funds=[(f, fund_label(f, blank=UNFUNDED)) for f in budgets.BUDGET_FUNDS],
            grid=_budget_grid(year, lines, posted, errors),
            panels=[panel],
            changes=budgets.budget_changes(year),
            overrides=budgets.overrides(year),
            note=request.POST.get("note", "") if posted is not None else "",
        ),
        status=status,
    )


def _posted_year(request: AuthedRequest) -> int:
    raw = request.POST.get("year", "")
    if (
        raw.isascii()
        and raw.isdigit()
        and budgets.MIN_YEAR <= int(raw) <= budgets.MAX_YEAR
    ):
        return int(raw)
    raise DomainError("invalid_year", "年度无效")


def _save_budgets(
    year: int, posted: dict[str, str], note: str, actor: User, errors: dict[str, str]
) -> int:
    """Save every changed cell, all or nothing; a blank cell removes the budget."""
    current = {(b.unit_id, b.fund): b.amount for b in budgets.budgets_for_year(year)}
    changed = 0
    with transaction.atomic():
        for name, raw in posted.items():
            parts = name.split("-", 2)
            if len(parts) != 3:
                continue
            _, unit_code, fund = parts
            value = raw.strip().replace(",", "")
            existing = current.get((unit_code, fund))
            try:
                if not value:
                    if existing is not None:
                        budgets.budget_clear(
                            unit_id=unit_code, year=year, fund=fund, actor=actor
                        )
                        changed += 1
                    continue
                if existing is not None and _same_amount(existing, value):
                    continue
                budgets.budget_set(
                    unit_id=unit_code,
                    year=year,
                    fund=fund,
                    amount=value,
                    actor=actor,
                    note=note,
                )
                changed += 1
            except DomainError as exc:
                errors[name] = exc.message
        if errors:
            transaction.set_rollback(True)
            raise DomainError(
                "invalid_budgets", f"有{len(errors)}项预算填写有误，均未保存"
            )
    return changed


def _same_amount(existing: Decimal, raw: str) -> bool:
    try:
        return Decimal(raw) == existing
    except ArithmeticError:
        return False


# --- The November review ------------------------------------------------------------------------
def _review_allowed(user: User, unit_code: str | None = None) -> None:
    if user.is_clerk and unit_code is not None:
        if unit_code != user.unit_id:
            raise NotFound("未找到该单位")
        return
    _require(_sees_finance(user), "只有地区审核人、督查和财政可以查看考核验收汇总")


def _review_units_panel(r: review.Review) -> Panel:
    return Panel(
        key="review-units",
        title=f"{r.year}年各单位培训人次",
        chart=_chart(
            "bar",
            [u.name for u in r.units],
            [_series("人次", [u.figures.person_times for u in r.units], APPROVED)],
            horizontal=True,
        ),
        headers=_headers(
            "单位", "人次", "占目标", "合格率", "就业率", "核准金额（元）"
        ),
        rows=[
            [
                Cell(
                    u.name,
                    href=reverse("dashboards:review_unit", args=[r.year, u.code]),
                ),
                num(_int(u.figures.person_times)),
                num(_pct(u.share_of_target)),
                num(_pct(u.figures.pass_rate)),
                num(_pct(u.figures.employment_rate)),
                num(yuan(u.figures.approved)),
            ]
            for u in r.units
        ],
        total=[
            Cell("全地区合计"),
            num(_int(r.total.figures.person_times)),
            num(_pct(r.total.share_of_target)),
            num(_pct(r.total.figures.pass_rate)),
            num(_pct(r.total.figures.employment_rate)),
            num(yuan(r.total.figures.approved)),
        ],
        tall=True,
    )


def _review_funds_panel(u: review.UnitReview) -> Panel:
    return Panel(
        key="review-funds",
        title="按资金渠道：预算、核准、拨付",
        chart=_chart(
            "bar",
            [f.short for f in u.funds],
            [
                _series("预算", [_float(f.budget) for f in u.funds], REMAINING),
                _series(
                    "核准", [_float(f.figures.approved) for f in u.funds], APPROVED
                ),
                _series("已拨付", [_float(f.figures.paid) for f in u.funds], PAID),
            ],
            fmt="money",
        ),
        headers=_headers("资金渠道", "预算", "申请", "核准", "已拨付", "执行率"),
        rows=[
            [
                Cell(f.short, title=f.label),
                num(_yuan(f.budget)),
                num(yuan(f.figures.requested)),
                num(yuan(f.figures.approved)),
                num(yuan(f.figures.paid)),
                num(_pct(f.execution)),
            ]
            for f in u.funds
        ],
        total=[
            Cell("合计"),
            num(_yuan(u.budget)),
            num(yuan(u.figures.requested)),
            num(yuan(u.figures.approved)),
            num(yuan(u.figures.paid)),
            num(
                _pct(
                    dashboards.percent(u.figures.approved, u.budget)
                    if u.budget
                    else None
                )
            ),
        ],
        note="执行率＝核准金额÷预算；未录入预算的资金渠道不设上限。",
    )


def _review_years() -> list[int]:
    return dashboards.years_with_data()


@login_required
@require_GET
@renders_domain_errors
def review_page(request: AuthedRequest, year: int) -> HttpResponse:
    _review_allowed(request.user)
    r = review.review_figures(year)
    return render(
        request,
        "dashboards/review.html",
        _context(
            request,
            "dashboards:review",
            year=year,
            years=_review_years(),
            review=r,
            panels=[_review_units_panel(r)],
            high_skill_target=review.HIGH_SKILL_TARGET,
        ),
    )


@login_required
@require_GET
@renders_domain_errors
def review_unit_page(request: AuthedRequest, year: int, code: str) -> HttpResponse:
    _review_allowed(request.user, code)
    r = review.review_figures(year)
    u = r.unit(code)
    if u is None:
        raise NotFound("未找到该单位")
    return render(
        request,
        "dashboards/review_unit.html",
        _context(
            request,
            "dashboards:review",
            year=year,
            years=_review_years(),
            review=r,
            u=u,
            panels=[_review_funds_panel(u)],
            high_skill_target=review.HIGH_SKILL_TARGET,
            is_clerk=request.user.is_clerk,
        ),
    )


@login_required
@require_GET
@renders_domain_errors
def review_xlsx(request: AuthedRequest, year: int) -> HttpResponse:
    _review_allowed(request.user)
    r = review.review_figures(year)
    buffer = io.BytesIO()
    review.write_review_workbook(r, buffer)
    response = HttpResponse(
        buffer.getvalue(),
        content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    )
    filename = f"review-{year}.xlsx"
    response["Content-Disposition"] = (
        f"attachment; filename=\"{filename}\"; filename*=UTF-8''"
        f"{year}%E5%B9%B4%E8%80%83%E6%A0%B8%E9%AA%8C%E6%94%B6.xlsx"
    )
    return response
