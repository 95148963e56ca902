"""The dashboards' panels: a chart (Chart.js, as data: ``static/app/dashboards.js``
draws it, so no script is in the page) and the table of its numbers beside it."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.urls import reverse

from claims.rules import yuan
from programs.models import UNFUNDED, fund_label
from reporting import dashboards
from reporting.anomalies import Anomalies
from reporting.dashboards import BudgetLine, Figures, FundExecution, Row
from reporting.templatetags.dashboard_format import pct, thousands

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


# --- Formatting (the templates' filters, ``reporting.templatetags.dashboard_format``) ---
def yuan_or(d: Decimal | None, *, none: str = "未设预算") -> str:
    return none if d is None else yuan(d)


def as_float(d: Decimal | None) -> float:
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


def header_cells(*names: str) -> list[Cell]:
    return [Cell(n, num=i > 0) for i, n in enumerate(names)]


def chart(
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


def series(
    label: str, data: Sequence[float | int], color: str, **extra: Any
) -> dict[str, Any]:
    return {"label": label, "data": data, "color": color, **extra}


# --- Panels shared by the pages ------------------------------------------------------------
def kpis(
    total: Figures,
    *,
    target: int | None = None,
    work_year: dashboards.WorkYear | None = None,
    work_year_total: Figures | None = None,
) -> list[dict[str, Any]]:
    """The headline cards. With a target, the person-times card counts the work year
    (六(二)/(三): ``work_year_total``), the money cards the calendar year."""
    cards = []
    if target is not None:
        done = (work_year_total or total).person_times
        label = "培训人次 / 年度目标"
        if work_year is not None:
            label = f"培训人次（工作年度 {work_year.label}）/ 年度目标"
        cards.append(
            {
                "label": label,
                "value": f"{thousands(done)} / {thousands(target)}",
                "progress": dashboards.percent(done, target),
                "key": "person-times",
            }
        )
    else:
        cards.append(
            {
                "label": "培训人次",
                "value": thousands(total.person_times),
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


def target_panel(
    total: Figures, target: int, *, work_year: dashboards.WorkYear | None = None
) -> Panel:
    """The 10,000 person-times target; ``total`` is the work year's (六(二)/(三))."""
    done = total.person_times
    left = max(target - done, 0)
    return Panel(
        key="target",
        title="年度目标进度（不少于1万人次，按工作年度）",
        note=work_year.note if work_year is not None else "",
        chart=chart(
            "doughnut",
            ["已完成", "尚差"],
            [series("人次", [done, left], APPROVED, colors=[APPROVED, REMAINING])],
        ),
        headers=header_cells("项目", "人次"),
        rows=[
            [Cell("年度目标"), num(thousands(target))],
            [Cell("已完成"), num(thousands(done))],
            [Cell("完成率"), num(pct(dashboards.percent(done, target)))],
            [Cell("尚差"), num(thousands(left))],
        ],
    )


def month_panel(months: list[Row], *, with_amount: bool = False) -> Panel:
    cumulative, running = [], 0
    for r in months:
        running += r.figures.person_times
        cumulative.append(running)
    datasets = [
        series("当月人次", [r.figures.person_times for r in months], APPROVED),
    ]
    if with_amount:
        datasets.append(
            series(
                "核准金额（元）",
                [as_float(r.figures.approved) for r in months],
                PENDING,
                type="line",
                y2=True,
            )
        )
        headers = header_cells("月份", "人次", "累计", "核准金额（元）")
        rows = [
            [
                Cell(r.label),
                num(thousands(r.figures.person_times)),
                num(thousands(c)),
                num(yuan(r.figures.approved)),
            ]
            for r, c in zip(months, cumulative, strict=True)
        ]
    else:
        datasets.append(series("累计人次", cumulative, PENDING, type="line", y2=True))
        headers = header_cells("月份", "人次", "累计")
        rows = [
            [Cell(r.label), num(thousands(r.figures.person_times)), num(thousands(c))]
            for r, c in zip(months, cumulative, strict=True)
        ]
    return Panel(
        key="months",
        title="按月培训人次（按培训结束月份）",
        chart=chart(
            "bar",
            [r.label for r in months],
            datasets,
            fmt2="money" if with_amount else "int",
        ),
        headers=headers,
        rows=rows,
        tall=True,
    )


def unit_href(code: str, year: int) -> str:
    return f"{reverse('dashboards:unit')}?unit={code}&year={year}"


def units_panel(units: list[Row], year: int, target: int) -> Panel:
    return Panel(
        key="units",
        title="各单位培训人次",
        chart=chart(
            "bar",
            [r.label for r in units],
            [series("人次", [r.figures.person_times for r in units], APPROVED)],
            horizontal=True,
        ),
        headers=header_cells("单位", "人次", "占全地区目标"),
        rows=[
            [
                Cell(r.label, href=unit_href(r.key, year)),
                num(thousands(r.figures.person_times)),
                num(pct(dashboards.percent(r.figures.person_times, target, places=2))),
            ]
            for r in units
        ],
        total=[
            Cell("合计"),
            num(thousands(sum(r.figures.person_times for r in units))),
            num(
                pct(
                    dashboards.percent(
                        sum(r.figures.person_times for r in units), target, places=2
                    )
                )
            ),
        ],
        tall=True,
    )


def money_panel(
    key: str, title: str, rows: list[Row], total: Figures, *, first: str = "单位"
) -> Panel:
    return Panel(
        key=key,
        title=title,
        chart=chart(
            "bar",
            [r.label for r in rows],
            [
                series(
                    "申请", [as_float(r.figures.requested) for r in rows], REQUESTED
                ),
                series("核准", [as_float(r.figures.approved) for r in rows], APPROVED),
                series("已拨付", [as_float(r.figures.paid) for r in rows], PAID),
            ],
            fmt="money",
        ),
        headers=header_cells(first, "申请（元）", "核准（元）", "已拨付（元）"),
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


def programs_panel(programs: list[Row]) -> Panel:
    return Panel(
        key="programs",
        title="按项目：培训人次与核准金额",
        chart=chart(
            "bar",
            [short(r.label) for r in programs],
            [series("人次", [r.figures.person_times for r in programs], APPROVED)],
            horizontal=True,
        ),
        headers=header_cells("项目", "人次", "核准金额（元）"),
        rows=[
            [
                label_cell(r.label, width=18),
                num(thousands(r.figures.person_times)),
                num(yuan(r.figures.approved)),
            ]
            for r in programs
        ],
        note="项目11（技能脱贫千校行动）为就学补助，不计培训人次，金额照计。",
    )


def rates_panel(key: str, title: str, rows: list[Row], *, first: str = "单位") -> Panel:
    return Panel(
        key=key,
        title=title,
        chart=chart(
            "bar",
            [short(r.label) for r in rows],
            [
                series(
                    "合格率", [as_float(r.figures.pass_rate) for r in rows], APPROVED
                ),
                series(
                    "就业率", [as_float(r.figures.employment_rate) for r in rows], PAID
                ),
            ],
            fmt="percent",
        ),
        headers=header_cells(first, "人次", "合格", "合格率", "就业", "就业率"),
        rows=[
            [
                label_cell(r.label, width=12),
                num(thousands(r.figures.person_times)),
                num(thousands(r.figures.passed)),
                num(pct(r.figures.pass_rate)),
                num(thousands(r.figures.employed)),
                num(pct(r.figures.employment_rate)),
            ]
            for r in rows
        ],
        tall=len(rows) > 5,
    )


def budget_panel(
    key: str, title: str, lines: list[FundExecution] | list[BudgetLine]
) -> Panel:
    labels = [line.fund_short for line in lines]
    remaining = [max(as_float(line.remaining), 0.0) for line in lines]
    return Panel(
        key=key,
        title=title,
        chart=chart(
            "bar",
            labels,
            [
                series("已核准", [as_float(x.approved) for x in lines], APPROVED),
                series("待审占用", [as_float(x.pending) for x in lines], PENDING),
                series("预算余额", remaining, REMAINING),
            ],
            fmt="money",
            horizontal=True,
            stacked=True,
        ),
        headers=header_cells(
            "资金渠道", "预算", "已核准", "待审占用", "已拨付", "余额"
        ),
        rows=[
            [
                Cell(x.fund_short, title=x.fund_label),
                num(yuan_or(x.budget)),
                num(yuan(x.approved)),
                num(yuan(x.pending)),
                num(yuan(x.paid)),
                num(yuan_or(x.remaining, none="不限"), cls=_budget_state(x)),
            ]
            for x in lines
        ],
        note="余额＝预算－已核准－待审占用（待审核申报的核定金额），只计已录入预算的"
        "单位；未录入预算的单位、年度、资金渠道不设上限。已核准超出预算的以红色标出，"
        "待审全部核准将超出预算（核准时须说明理由，七(五)）的以黄色标出。",
    )


def _budget_state(line: FundExecution | BudgetLine) -> str:
    """Red: the approved money is past the budget; amber: approving what is pending
    would take it past (``quarters.rules.budget_excess``, as the approval guard)."""
    if line.over:
        return "text-danger fw-semibold"
    if line.pending_excess is not None:
        return "text-warning-emphasis fw-semibold"
    return ""


def backlog_panel(rows: list[dashboards.BacklogRow]) -> Panel:
    return Panel(
        key="backlog",
        title="待审核积压（按单位、提交至今天数）",
        chart=chart(
            "bar",
            [r.unit_name for r in rows],
            [
                series(label, [getattr(r, band) for r in rows], AGES[i])
                for i, (band, label) in enumerate(dashboards.BACKLOG_BANDS)
            ],
            horizontal=True,
            stacked=True,
        ),
        headers=header_cells(
            "单位", "0–7天", "8–30天", "30天以上", "合计", "核定金额（元）"
        ),
        rows=[
            [
                Cell(r.unit_name),
                num(thousands(r.fresh)),
                num(thousands(r.middle)),
                num(thousands(r.old), cls="text-danger fw-semibold" if r.old else ""),
                num(thousands(r.total)),
                num(yuan(r.amount)),
            ]
            for r in rows
        ],
        total=[
            Cell("合计"),
            num(thousands(sum(r.fresh for r in rows))),
            num(thousands(sum(r.middle for r in rows))),
            num(thousands(sum(r.old for r in rows))),
            num(thousands(sum(r.total for r in rows))),
            num(yuan(sum((r.amount for r in rows), Decimal(0)))),
        ],
        note="已随季度报表报送、尚待地区审核的申报，按申报提交时间计天数；不分年度。",
        tall=True,
    )


def unit_programs_panel(programs: list[Row]) -> Panel:
    """The rates chart, with the approved money beside it (counts left to the rates)."""
    panel = rates_panel(
        "programs", "按项目：人次、合格率、就业率", programs, first="项目"
    )
    panel.headers = header_cells("项目", "人次", "合格率", "就业率", "核准金额（元）")
    panel.rows = [
        [
            label_cell(r.label, width=12),
            num(thousands(r.figures.person_times)),
            num(pct(r.figures.pass_rate)),
            num(pct(r.figures.employment_rate)),
            num(yuan(r.figures.approved)),
        ]
        for r in programs
    ]
    return panel


# --- Finance ------------------------------------------------------------------------------
def quarter_fund_panel(d: dashboards.FinanceDashboard) -> Panel:
    funds = sorted(
        {qf.fund for qf in d.quarter_funds if qf.fund},
        key=dashboards.fund_sort_key,
    )
    table = {(qf.quarter, qf.fund): qf.figures for qf in d.quarter_funds}
    labels = [r.label for r in d.quarters]
    return Panel(
        key="quarter-fund",
        title="按季度、资金渠道的核准金额",
        chart=chart(
            "bar",
            labels,
            [
                series(
                    fund_label(f, blank=UNFUNDED),
                    [
                        as_float(table.get((q, f), dashboards.EMPTY).approved)
                        for q in range(1, 5)
                    ],
                    PALETTE[i % len(PALETTE)],
                )
                for i, f in enumerate(funds)
            ],
            fmt="money",
            stacked=True,
        ),
        headers=header_cells("季度 · 资金渠道", "核准", "已拨付", "未拨付"),
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


def paid_panel(d: dashboards.FinanceDashboard) -> Panel:
    return Panel(
        key="paid",
        title="已拨付与未拨付（按资金渠道）",
        chart=chart(
            "bar",
            [r.label for r in d.funds],
            [
                series(
                    "已拨付",
                    [as_float(r.figures.paid_on_approved) for r in d.funds],
                    PAID,
                ),
                series(
                    "未拨付",
                    [as_float(r.figures.outstanding) for r in d.funds],
                    PENDING,
                ),
            ],
            fmt="money",
            horizontal=True,
            stacked=True,
        ),
        headers=header_cells("资金渠道", "核准", "已拨付", "未拨付"),
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


def finance_kpis(d: dashboards.FinanceDashboard) -> list[dict[str, Any]]:
    return [
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


# --- Anomalies -----------------------------------------------------------------------------
def anomalies_panel(found: Anomalies) -> Panel:
    kinds = [
        ("certificates", "同一证书编号多次申报", len(found.certificates)),
        ("overlaps", "同一人培训时间重叠", len(found.overlaps)),
        ("bursts", f"同一机构单日申报≥{found.claims_per_day}笔", len(found.bursts)),
        ("ages", f"培训时年龄不在{found.min_age}—{found.max_age}岁", len(found.ages)),
        ("phones", f"同一电话号码≥{found.phone_min_trainees}人", len(found.phones)),
        (
            "class-sign-in-sheets",
            "同一签到表用于多个课次或培训班",
            len(found.class_sign_in_sheets),
        ),
        (
            "spot-check-overrides",
            "抽查材料不符仍予核准",
            len(found.spot_check_overrides),
        ),
        ("class-overlaps", "同一人在两个培训班时间重叠", len(found.class_overlaps)),
        (
            "roster-ages",
            f"培训班名单年龄不在{found.min_age}—{found.max_age}岁",
            len(found.roster_ages),
        ),
        ("perfect-classes", "培训班全员满勤且全部合格", len(found.perfect_classes)),
    ]
    return Panel(
        key="anomalies",
        title="异常线索统计",
        chart=chart(
            "bar",
            [k[1] for k in kinds],
            [series("条数", [k[2] for k in kinds], "#c2410c")],
            horizontal=True,
        ),
        headers=header_cells("类型", "条数"),
        rows=[
            [Cell(label, href=f"#{key}"), num(thousands(n))] for key, label, n in kinds
        ],
        total=[Cell("合计"), num(thousands(found.total))],
    )
