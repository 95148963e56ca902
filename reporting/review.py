"""The November review (考核验收, 六(三)): each unit's year against the notice's targets,
as a page and as one workbook (a summary sheet and a sheet per unit).

The figures are the dashboards' (``reporting.dashboards``: SQL aggregates, the same
definitions); the workbook follows ``reporting.exports``: text cells never formulas,
yuan as ``#,##0.00``, 宋体, Chinese widths, frozen headers, A4 landscape.

Targets (一、目标任务): at least 10,000 subsidised training person-times a year across
the prefecture (no unit quota is set, so each unit is shown with its share); by 2021
high-skilled workers 30% of the skilled. The system does not hold the workforce, so the
second is shown as a reference only: of the year's passed trainings with a skill level,
the share at 三级/高级工 or above.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import IO

from django.db.models import Q, Sum
from django.db.models.functions import Coalesce
from django.utils import timezone

from altay_skills.errors import NotFound
from claims.confirmations import ConfirmationShares, confirmation_shares_by_unit
from claims.rules import PROGRAMS_OUTSIDE_LIMITS
from finance import exports
from finance.exports import (
    BOLD,
    FONT,
    TITLE,
    TOTAL_FILL,
    Book,
    Cell,
    Sheet,
    Style,
    int_cell,
    money_cell,
    number_cell,
    text_cell,
)
from programs.models import UNFUNDED, Level, fund_label
from quarters import rules as quarter_rules
from quarters.budgets import MAX_YEAR, MIN_YEAR
from quarters.models import FundBudget
from reporting.dashboards import (
    EMPTY,
    FUND,
    UNIT,
    ZERO,
    Figures,
    Span,
    WorkYear,
    annual_target,
    fund_short,
    fund_sort_key,
    grouped,
    percent,
    units,
    work_year,
    year_claims,
    year_summaries,
)

#: 一、目标任务: by 2021 high-skilled workers at 30% of skilled workers.
HIGH_SKILL_TARGET = Decimal("30")
#: Level ranks of the high-skilled (三级/高级工, 二级/技师, 一级/高级技师).
HIGH_SKILL_MAX_RANK = 3


@dataclass(frozen=True)
class FundLine:
    fund: str
    budget: Decimal | None
    figures: Figures

    @property
    def label(self) -> str:
        return fund_label(self.fund, blank=UNFUNDED)

    @property
    def short(self) -> str:
        return fund_short(self.fund)

    @property
    def remaining(self) -> Decimal | None:
        return quarter_rules.budget_remaining(
            self.budget, self.figures.approved, self.figures.pending
        )

    @property
    def over(self) -> bool:
        """Approved past the budget (``reporting.dashboards.BudgetLine.over``)."""
        return (
            quarter_rules.budget_excess(self.budget, self.figures.approved) is not None
        )

    @property
    def pending_excess(self) -> quarter_rules.BudgetExcess | None:
        """Approving everything pending would pass the budget."""
        return quarter_rules.budget_excess(
            self.budget, self.figures.approved, self.figures.pending
        )

    @property
    def execution(self) -> Decimal | None:
        """Approved as a share of the budget (预算执行率)."""
        return (
            None if self.budget is None else percent(self.figures.approved, self.budget)
        )


@dataclass(frozen=True)
class UnitReview:
    code: str
    name: str
    figures: Figures
    certified: int  # passed trainings with a skill level
    high_skill: int  # of which 三级 or above
    target: int
    funds: list[FundLine] = field(default_factory=list)
    #: What the unit's trainees answered to "was this you?" (issue 17).
    confirmations: ConfirmationShares = field(default_factory=ConfirmationShares)

    @property
    def share_of_target(self) -> Decimal | None:
        return percent(self.figures.person_times, self.target, places=2)

    @property
    def high_skill_share(self) -> Decimal | None:
        return percent(self.high_skill, self.certified)

    @property
    def budget(self) -> Decimal | None:
        budgets = [f.budget for f in self.funds if f.budget is not None]
        return sum(budgets, ZERO) if budgets else None


@dataclass(frozen=True)
class Review:
    year: int
    target: int
    units: list[UnitReview]
    total: UnitReview
    generated_at: datetime
    #: The period the review counts (六(二)/(三)): 1 November of year−1 to 31 October.
    work_year: WorkYear | None = None

    @property
    def progress(self) -> Decimal | None:
        return percent(self.total.figures.person_times, self.target)

    @property
    def target_met(self) -> bool:
        return self.total.figures.person_times >= self.target

    def unit(self, code: str) -> UnitReview | None:
        return next((u for u in self.units if u.code == code), None)


def _skill_levels(year: int, span: Span) -> dict[str, tuple[int, int]]:
    """Per unit: passed trainings with a skill level, and those at 三级 or above (off
    the claims' summaries, whose rows keep the level)."""
    ranked = Level.objects.filter(rank__isnull=False).values("code")
    high = Level.objects.filter(rank__lte=HIGH_SKILL_MAX_RANK).values("code")
    rows = (
        year_summaries(year, span=span)
        .exclude(program_id__in=sorted(PROGRAMS_OUTSIDE_LIMITS))
        .filter(level__in=ranked)
        .values("unit_id")
        .annotate(
            certified=Coalesce(Sum("passed"), 0),
            high=Coalesce(Sum("passed", filter=Q(level__in=high)), 0),
        )
        .order_by()
    )
    return {r["unit_id"]: (r["certified"], r["high"]) for r in rows}


def review_figures(year: int) -> Review:
    """Every unit's review for the year: eight queries whatever the number of claims."""
    if not MIN_YEAR <= year <= MAX_YEAR:  # a year the database cannot filter on: 404
        raise NotFound("未找到该年度")
    all_units = units()
    target = annual_target()
    wy = work_year(year)
    # 六(二)/(三): the review counts the work year; the budgets (七(五)) are the
    # calendar year's, as the approval guard counts them, so their lines are too.
    by_unit = grouped(year, UNIT, span=wy.span)
    by_unit_fund = grouped(year, {**UNIT, **FUND})
    budgets = {
        (b.unit_id, b.fund): b.amount for b in FundBudget.objects.filter(year=year)
    }
    skills = _skill_levels(year, wy.span)
    answers = confirmation_shares_by_unit(year_claims(year, span=wy.span))
    reviews = []
    for u in all_units:
        funds = sorted(
            {f for (code, f) in by_unit_fund if code == u.code and f}
            | {f for (code, f) in budgets if code == u.code},
            key=fund_sort_key,
        )
        certified, high = skills.get(u.code, (0, 0))
        reviews.append(
            UnitReview(
                code=u.code,
                name=u.name,
                figures=by_unit.get((u.code,), EMPTY),
                certified=certified,
                high_skill=high,
                target=target,
                confirmations=answers.get(u.code, ConfirmationShares()),
                funds=[
                    FundLine(
                        f,
                        budgets.get((u.code, f)),
                        by_unit_fund.get((u.code, f), EMPTY),
                    )
                    for f in funds
                ],
            )
        )
    return Review(
        year=year,
        target=target,
        units=reviews,
        total=_total(reviews, target),
        generated_at=timezone.localtime(),
        work_year=wy,
    )


def _total(reviews: Sequence[UnitReview], target: int) -> UnitReview:
    """The prefecture: the units' SQL figures added up (exact decimals)."""

    def add(items: Sequence[Figures]) -> Figures:
        return Figures(
            person_times=sum(f.person_times for f in items),
            passed=sum(f.passed for f in items),
            employed=sum(f.employed for f in items),
            requested=sum((f.requested for f in items), ZERO),
            approved=sum((f.approved for f in items), ZERO),
            pending=sum((f.pending for f in items), ZERO),
            paid=sum((f.paid for f in items), ZERO),
            paid_on_approved=sum((f.paid_on_approved for f in items), ZERO),
        )

    funds: dict[str, list[FundLine]] = {}
    for r in reviews:
        for line in r.funds:
            funds.setdefault(line.fund, []).append(line)
    lines = []
    for fund in sorted(funds, key=fund_sort_key):
        budgets = [x.budget for x in funds[fund] if x.budget is not None]
        lines.append(
            FundLine(
                fund,
                sum(budgets, ZERO) if budgets else None,
                add([x.figures for x in funds[fund]]),
            )
        )
    return UnitReview(
        code="",  # not a unit: the prefecture level itself is one of the units
        name="全地区合计",
        figures=add([r.figures for r in reviews]),
        certified=sum(r.certified for r in reviews),
        high_skill=sum(r.high_skill for r in reviews),
        target=target,
        funds=lines,
        confirmations=sum((r.confirmations for r in reviews), ConfirmationShares()),
    )


# --- The workbook --------------------------------------------------------------------------
SUMMARY_HEADERS = (
    "单位代码",
    "单位",
    "培训人次",
    "占年度目标",
    "合格人数",
    "合格率",
    "就业人数",
    "就业率",
    "高技能等级占比",
    "申请金额（元）",
    "核准金额（元）",
    "待审金额（元）",
    "已拨付（元）",
    "预算（元）",
    "学员本人确认",
    "本人否认参加",
    "学员未答复",
)
FUND_HEADERS = (
    "资金渠道",
    "预算（元）",
    "申请金额（元）",
    "核准金额（元）",
    "待审金额（元）",
    "已拨付（元）",
    "预算余额（元）",
    "预算执行率",
)
PERCENT_FORMAT = "0.0%"
SHARE_FORMAT = "0.00%"  # a unit's share of the prefecture's target is small


def percent_cell(
    value: Decimal | None,
    *,
    font: Style = FONT,
    number_format: str = PERCENT_FORMAT,
) -> Cell:
    """A percentage (e.g. 87.5) as Excel's 0.875 shown "87.5%"; blank when undefined."""
    if value is None:
        return text_cell("—", font=font)
    return number_cell(value / 100, number_format, font=font)


def _optional_money(value: Decimal | None, *, font: Style = FONT) -> Cell:
    if value is None:
        return text_cell("未设预算", font=font)
    return money_cell(value, font=font)


def _summary_row(r: UnitReview, *, font: Style = FONT) -> list[Cell]:
    f = r.figures
    return [
        text_cell(r.code, font=font),
        text_cell(r.name, font=font),
        int_cell(f.person_times, font=font),
        percent_cell(r.share_of_target, font=font, number_format=SHARE_FORMAT),
        int_cell(f.passed, font=font),
        percent_cell(f.pass_rate, font=font),
        int_cell(f.employed, font=font),
        percent_cell(f.employment_rate, font=font),
        percent_cell(r.high_skill_share, font=font),
        money_cell(f.requested, font=font),
        money_cell(f.approved, font=font),
        money_cell(f.pending, font=font),
        money_cell(f.paid, font=font),
        _optional_money(r.budget, font=font),
        percent_cell(r.confirmations.confirmed_share, font=font),
        percent_cell(r.confirmations.disputed_share, font=font),
        percent_cell(r.confirmations.unanswered_share, font=font),
    ]


def _period(review: Review) -> str:
    wy = review.work_year
    if wy is None:
        return f"{review.year}年"
    return (
        f"{wy.label}（{'工作年度' if wy.entry else '未录入工作年度起始月，按自然年'}）"
    )


def _title_rows(ws: Sheet, title: str, review: Review) -> None:
    ws.append([text_cell(title, font=TITLE)])
    ws.append(
        [
            text_cell(
                f"年度目标：全地区补贴性职业技能培训不少于{review.target:,}人次"
                f"（阿行办发〔2019〕50号 一、目标任务）　统计期：{_period(review)}"
                f"　生成时间：{review.generated_at:%Y-%m-%d %H:%M}",
            )
        ]
    )


def _summary_sheet(wb: Book, review: Review) -> None:
    ws = wb.sheet("汇总")
    exports._prepare(
        ws,
        exports._widths(
            SUMMARY_HEADERS,
            (8, 22, 8, 10, 8, 8, 8, 8, 12, 14, 14, 14, 14, 14, 12, 12, 10),
        ),
        header_row=3,
    )
    _title_rows(ws, f"{review.year}年度职业技能提升行动考核验收汇总表", review)
    ws.append(exports._header(SUMMARY_HEADERS))
    for r in review.units:
        ws.append(_summary_row(r))
    total = _summary_row(review.total, font=BOLD)
    for cell in total:
        cell.fill = TOTAL_FILL
    ws.append(total)
    ws.append([])
    met = "已完成" if review.target_met else "未完成"
    ws.append(
        [
            text_cell("年度目标完成情况", font=BOLD),
            text_cell(
                f"{review.total.figures.person_times:,}/{review.target:,}人次，{met}",
                font=BOLD,
            ),
        ]
    )
    ws.append(
        [
            text_cell("口径说明"),
            text_cell(
                f"统计期为工作年度（六(二)、六(三)）：{_period(review)}。"
                "培训人次：培训结束日期在统计期内、已提交审核、已核准或已退回待修改的申报"
                "（计入每人每年补贴次数的状态，不含项目11）；预算执行按培训结束日期所在"
                "自然年（与核准时的预算控制一致）；"
                "就业含自主创业、灵活就业；高技能等级占比为取得等级证书者中三级/高级工及以上"
                f"的比例，仅作对照（目标{HIGH_SKILL_TARGET}%）；"
                "学员本人确认、否认、未答复为统计期内已向学员发出确认的申报中各自的占比。",
            ),
        ]
    )


def _unit_sheet(wb: Book, review: Review, r: UnitReview) -> None:
    ws = wb.sheet(exports.sheet_title(f"{r.code}{r.name}"))
    exports._prepare(
        ws,
        exports._widths(FUND_HEADERS, (26, 14, 14, 14, 14, 14, 14, 10)),
        header_row=8,
    )
    _title_rows(ws, f"{r.name}{review.year}年度考核验收表", review)
    f = r.figures
    ws.append(
        [
            text_cell("培训人次", font=BOLD),
            int_cell(f.person_times),
            text_cell("占年度目标", font=BOLD),
            percent_cell(r.share_of_target, number_format=SHARE_FORMAT),
        ]
    )
    ws.append(
        [
            text_cell("合格人数", font=BOLD),
            int_cell(f.passed),
            text_cell("合格率", font=BOLD),
            percent_cell(f.pass_rate),
        ]
    )
    ws.append(
        [
            text_cell("就业人数", font=BOLD),
            int_cell(f.employed),
            text_cell("就业率", font=BOLD),
            percent_cell(f.employment_rate),
        ]
    )
    ws.append(
        [
            text_cell("高技能等级证书", font=BOLD),
            int_cell(r.high_skill),
            text_cell("占取得等级证书", font=BOLD),
            percent_cell(r.high_skill_share),
        ]
    )
    ws.append([])
    ws.append(exports._header(FUND_HEADERS))
    for line in r.funds:
        ws.append(_fund_row(line))
    total = FundLine("", r.budget, f)
    cells = _fund_row(total, font=BOLD)
    cells[0] = text_cell("合计", font=BOLD)
    for cell in cells:
        cell.fill = TOTAL_FILL
    ws.append(cells)
    ws.append([])
    ws.append([text_cell("学员本人确认（是否本人参加培训）", font=BOLD)])
    answers = r.confirmations
    for label, count, share in (
        ("本人确认参加", answers.confirmed, answers.confirmed_share),
        ("本人否认参加", answers.disputed, answers.disputed_share),
        ("未答复", answers.unanswered, answers.unanswered_share),
    ):
        ws.append([text_cell(label), int_cell(count), percent_cell(share)])
    ws.append([text_cell("已发出确认"), int_cell(answers.asked)])


def _fund_row(line: FundLine, *, font: Style = FONT) -> list[Cell]:
    f = line.figures
    return [
        text_cell(line.label, font=font),
        _optional_money(line.budget, font=font),
        money_cell(f.requested, font=font),
        money_cell(f.approved, font=font),
        money_cell(f.pending, font=font),
        money_cell(f.paid, font=font),
        _optional_money(line.remaining, font=font),
        percent_cell(line.execution, font=font),
    ]


def write_review_workbook(review: Review, target: str | IO[bytes]) -> None:
    """A summary sheet, then one sheet per unit; streamed (XlsxWriter's
    constant_memory, through finance.exports)."""
    wb = Book(target)
    _summary_sheet(wb, review)
    for r in review.units:
        _unit_sheet(wb, review, r)
    wb.close()
