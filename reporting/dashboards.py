"""What each role's dashboard shows: progress against the notice's targets, money, the
review backlog. Selectors only — every figure is an SQL aggregate (``GROUP BY``), and
each dashboard costs a fixed number of queries however many claims there are.

Definitions the pages state in their footnotes:

- **Person-times (培训人次)** of a year: the claims that count toward 五(二)'s yearly
  limit (``claims.rules.COUNTING_STATUSES``: submitted, approved, or returned to the
  clerk for a correction — not drafts, rejected or withdrawn) whose training *ended* in
  that calendar year — the year of the limit. So a person's person-times in a year are
  the slots of the limit they hold. Program 11 (技能脱贫千校行动, a school grant, not a
  training) is left out of person-times and rates but its money is counted.
- **The work year** (六(二)/(三)): the 10,000 person-times target and the November
  review count the training ended from 1 November of Y−1 to 31 October of Y (the first
  month is the policy entry ``work_year_start_month``; ``work_year``), not the
  calendar year; the pages say which period they count.
- **Requested**: ``amount_requested`` of those claims; **approved**: ``approved_amount``
  of the approved ones; **pending (committed)**: ``amount`` of the submitted ones;
  **paid**: payments recorded as paid on the year's claims (whatever their status).
- **Employed** (就业) includes self-employment and flexible work (五(一)).
- **Where the claims' figures come from** (issue 20): ``claims.models.ClaimSummary``,
  the counts and sums per month of training end × unit × program × fund × status ×
  level kept in the transaction of every change to a claim — a dashboard reads a few
  hundred summary rows, never a year of claims. A period is whole months (the work
  year is), so the month of training end decides as the date did. What was paid is
  there too (``ClaimSummary.paid``, from each claim's ``paid``, kept by the payment's
  transaction): a dashboard reads no payments.
- **Budgets** (七(五)) are compared with the money by ``quarters.rules`` alone, as the
  approval guard compares them: a line is *over* when its approved money is past the
  budget, and *would be over* when approving everything still pending would take it
  past.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from django.conf import settings
from django.db import connection
from django.db.models import Count, F, Max, Q, QuerySet, Sum, Value
from django.db.models.expressions import Combinable
from django.db.models.functions import (
    Coalesce,
    ExtractMonth,
    ExtractQuarter,
    NullIf,
)
from django.utils import timezone

from accounts.models import User
from altay_skills.errors import NotFound
from claims import rules, workflow
from claims.facts import policy_terms
from claims.models import NO_DAY, BacklogEntry, Claim, ClaimSummary
from claims.rules import COUNTING_STATUSES, PROGRAMS_OUTSIDE_LIMITS, ZERO, money
from claims.selectors import unit_scoped
from finance import selectors as finance_selectors
from finance.models import Payment
from programs.models import UNFUNDED, Fund, Unit, fund_label
from quarters import budgets
from quarters import rules as quarter_rules
from quarters.models import BudgetOverride, FundBudget, QuarterlyReport, ReportStatus

#: 一、目标任务: at least 10,000 subsidised training person-times a year (the notice).
DEFAULT_ANNUAL_TARGET = 10_000
#: The backlog's age bands, in days since the claim was submitted.
BACKLOG_BANDS = (("fresh", "0–7天"), ("middle", "8–30天"), ("old", "30天以上"))


def annual_target() -> int:
    """``settings.ANNUAL_PERSON_TIMES_TARGET``, else the notice's 10,000."""
    return int(getattr(settings, "ANNUAL_PERSON_TIMES_TARGET", DEFAULT_ANNUAL_TARGET))


def percent(
    part: int | Decimal, whole: int | Decimal | None, *, places: int = 1
) -> Decimal | None:
    """part / whole as a percentage, half-up to ``places`` decimals; None when whole
    is 0 or missing."""
    if not whole:
        return None
    return (Decimal(part) * 100 / Decimal(whole)).quantize(
        Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP
    )


#: Short names for narrow columns and chart axes.
FUND_SHORT = {
    Fund.SPECIAL.value: "技能提升专项资金",
    Fund.EMPLOYMENT.value: "就业专项资金",
    Fund.UNEMPLOYMENT_INSURANCE.value: "失业保险基金",
    Fund.POVERTY.value: "扶贫专项资金",
    Fund.ORIGINAL_CHANNEL.value: "原渠道",
}


def fund_short(fund: str | None) -> str:
    return FUND_SHORT.get(fund or "", fund_label(fund, blank=UNFUNDED))


_FUND_ORDER = {f: i for i, f in enumerate(Fund.values)}


def fund_sort_key(fund: str | None) -> tuple[int, str]:
    """The funds in the order of ``programs.models.Fund``, unknown ones and no fund
    after them."""
    return (_FUND_ORDER.get(fund or "", 99), fund or "")


# --- The figures of one group ---------------------------------------------------------
@dataclass(frozen=True)
class Figures:
    person_times: int = 0
    passed: int = 0
    employed: int = 0
    requested: Decimal = ZERO
    approved: Decimal = ZERO
    pending: Decimal = ZERO
    paid: Decimal = ZERO
    paid_on_approved: Decimal = ZERO

    @property
    def pass_rate(self) -> Decimal | None:
        return percent(self.passed, self.person_times)

    @property
    def employment_rate(self) -> Decimal | None:
        return percent(self.employed, self.person_times)

    @property
    def outstanding(self) -> Decimal:
        """Approved but not yet paid (advances paid on them deducted)."""
        return self.approved - self.paid_on_approved


EMPTY = Figures()

#: A grouping key: a function of the path prefix ("" for claims, "claim__" for
#: payments) giving the SQL expression to group by.
Key = Callable[[str], Combinable]


def field_key(path: str) -> Key:
    return lambda prefix: F(prefix + path)


def month_key(prefix: str) -> Combinable:
    return ExtractMonth(prefix + "training_end")


def quarter_key(prefix: str) -> Combinable:
    return ExtractQuarter(prefix + "training_end")


UNIT: dict[str, Key] = {"k_unit": field_key("unit_id")}
FUND: dict[str, Key] = {"k_fund": field_key("fund")}
PROGRAM: dict[str, Key] = {
    "k_program": field_key("program_id"),
    "k_name": field_key("program__name"),
}
MONTH: dict[str, Key] = {"k_month": month_key}
QUARTER: dict[str, Key] = {"k_quarter": quarter_key}


# --- The work year (六(二)/(三)) ------------------------------------------------------
@dataclass(frozen=True)
class WorkYear:
    """The work year ``year`` of 六(二) (每年11月中旬至次年10月底), reviewed each November
    (六(三)): 1 November of ``year``−1 to 31 October of ``year``. Its first month is
    policy data (``work_year_start_month``); without an entry in force the calendar
    year is counted, and the page says so."""

    year: int
    start: date
    end: date
    start_month: int
    entry: str  # the entry's document and clause; "" without one

    @property
    def span(self) -> tuple[date, date]:
        return (self.start, self.end)

    @property
    def label(self) -> str:
        return f"{self.start.isoformat()}至{self.end.isoformat()}"

    @property
    def note(self) -> str:
        if not self.entry:
            return (
                f"未录入工作年度起始月（政策标准 work_year_start_month），"
                f"按自然年统计：{self.label}。"
            )
        return (
            f"年度目标和考核验收按工作年度统计（六(二)、六(三)）：{self.year}年度为"
            f"{self.label}（依据{self.entry}）。"
        )


def work_year(year: int) -> WorkYear:
    """The work year ``year``: the start month in force on 1 January of ``year`` (a
    day inside the work year whatever month it begins)."""
    term = rules.term_in_force(
        policy_terms(), "work_year_start_month", on=date(year, 1, 1)
    )
    start_month = int(term.value) if term is not None else 1
    start, end = rules.year_span(year, start_month)
    entry = f"{term.source_document} {term.clause}" if term is not None else ""
    return WorkYear(year, start, end, start_month, entry)


Span = tuple[date, date]


def year_claims(
    year: int, *, unit: str | None = None, span: Span | None = None
) -> QuerySet[Claim]:
    """The year's counted claims (see the module's definitions); with ``span``, those
    whose training ended within it (the work year) instead of in the calendar year."""
    qs = Claim.objects.filter(status__in=sorted(COUNTING_STATUSES))
    if span is not None:
        qs = qs.filter(training_end__range=span)
    else:
        qs = qs.filter(training_end__year=year)
    if unit:
        qs = qs.filter(unit_id=unit)
    return qs


#: What each grouping key reads off a summary row (``ClaimSummary``): the claims'
#: own values (a fund kept as "" for none is read back as none).
SUMMARY_KEYS: dict[str, Combinable] = {
    "k_unit": F("unit_id"),
    "k_fund": NullIf(F("fund"), Value("")),
    "k_program": F("program_id"),
    "k_name": F("program__name"),
    "k_month": ExtractMonth("month"),
    "k_quarter": ExtractQuarter("month"),
}


def month_span(span: Span) -> Span:
    """``span`` as the months of training end it covers: whole months only (a work
    year is), which the summaries are kept by."""
    start, end = span
    if start.day != 1 or (end + timedelta(days=1)).day != 1:
        raise ValueError(f"a period of whole months is needed, not {start}–{end}")
    return start, end


def year_summaries(
    year: int, *, unit: str | None = None, span: Span | None = None
) -> QuerySet[ClaimSummary]:
    """The summary rows of ``year_claims(year, unit=unit, span=span)``: the counted
    statuses, the months of the year (or of the span)."""
    return period_summaries(year, unit=unit, span=span).filter(
        status__in=sorted(COUNTING_STATUSES)
    )


def period_summaries(
    year: int, *, unit: str | None = None, span: Span | None = None
) -> QuerySet[ClaimSummary]:
    """The summary rows of the year's months (or the span's), every status: the
    money paid on a claim counts whatever its status (an advance on a claim later
    rejected, a class's advance on a draft), its other figures only when counted."""
    qs = ClaimSummary.objects.all()
    if span is not None:
        qs = qs.filter(month__range=month_span(span))
    else:
        qs = qs.filter(month__year=year)
    if unit:
        qs = qs.filter(unit_id=unit)
    return qs


def _claim_aggregates() -> dict[str, Any]:
    counted = Q(status__in=sorted(COUNTING_STATUSES))
    trained = counted & ~Q(program_id__in=sorted(PROGRAMS_OUTSIDE_LIMITS))
    approved = Q(status=workflow.APPROVED)
    return {
        "n_claims": Coalesce(Sum("claims", filter=counted), 0),
        "person_times": Coalesce(Sum("claims", filter=trained), 0),
        "passed": Coalesce(Sum("passed", filter=trained), 0),
        "employed": Coalesce(Sum("employed", filter=trained), 0),
        "requested": Sum("requested", filter=counted),
        "approved": Sum("approved", filter=approved),
        "pending": Sum("amount", filter=Q(status=workflow.SUBMITTED)),
        "s_paid": Coalesce(Sum("paid"), ZERO),
        "s_paid_approved": Coalesce(Sum("paid", filter=approved), ZERO),
    }


def grouped(
    year: int,
    keys: Mapping[str, Key],
    *,
    unit: str | None = None,
    span: Span | None = None,
) -> dict[tuple[Any, ...], Figures]:
    """The year's figures grouped by ``keys``, in one query of the claims' summaries
    (what was paid included: ``ClaimSummary.paid``). With ``span``, the claims whose
    training ended within it (the work year) instead of in the calendar year."""
    names = list(keys)
    summaries = period_summaries(year, unit=unit, span=span)
    rows: list[dict[str, Any]]
    if names:
        rows = list(
            summaries.annotate(**{n: SUMMARY_KEYS[n] for n in names})
            .values(*names)
            .annotate(**_claim_aggregates())
            # a group whose claims all moved on and that holds no money is no group
            .filter(Q(n_claims__gt=0) | ~Q(s_paid=0))
            .order_by()
        )
    else:  # one row for everything (``values()`` without names means every field)
        rows = [summaries.aggregate(**_claim_aggregates())]
    result: dict[tuple[Any, ...], Figures] = {}
    for r in rows:
        paid, on_approved = money(r["s_paid"]), money(r["s_paid_approved"])
        if names and not r["n_claims"]:
            # Money paid on claims no longer counted (an advance on a rejected claim).
            result[tuple(r[n] for n in names)] = Figures(
                paid=paid, paid_on_approved=on_approved
            )
            continue
        result[tuple(r[n] for n in names)] = Figures(
            person_times=r["person_times"],
            passed=r["passed"],
            employed=r["employed"],
            requested=money(r["requested"]),
            approved=money(r["approved"]),
            pending=money(r["pending"]),
            paid=paid,
            paid_on_approved=on_approved,
        )
    return result


def totals(year: int, *, unit: str | None = None, span: Span | None = None) -> Figures:
    return grouped(year, {}, unit=unit, span=span).get((), EMPTY)


# --- Years ----------------------------------------------------------------------------
def _kept_summaries() -> QuerySet[ClaimSummary]:
    """Summary rows that hold claims, drafts aside."""
    return ClaimSummary.objects.exclude(status=workflow.DRAFT).filter(claims__gt=0)


def months_with_claims() -> list[date]:
    """The months of ``_kept_summaries``, each found by one probe of the summaries'
    unique index (month first): a recursive statement that steps from one month to
    the next, ~120 probes for ten years, instead of reading every summary row for a
    DISTINCT (15-27 ms at ten million claims, on every dashboard; issue 20)."""
    q = connection.ops.quote_name
    meta = ClaimSummary._meta
    table = q(meta.db_table)
    columns: list[Any] = [meta.get_field(n) for n in ("month", "status", "claims")]
    month, status, claims = (q(field.column) for field in columns)
    kept = f"{status} <> %s AND {claims} > 0"
    statement = (  # identifiers from the model, every value a parameter
        f"WITH RECURSIVE kept(month) AS ("  # noqa: S608  # nosec B608
        f"SELECT MIN({month}) FROM {table} WHERE {kept} "
        f"UNION ALL SELECT (SELECT MIN({month}) FROM {table} "
        f"WHERE {month} > kept.month AND {kept}) FROM kept "
        f"WHERE kept.month IS NOT NULL) "
        f"SELECT month FROM kept WHERE month IS NOT NULL"
    )
    with connection.cursor() as cursor:
        cursor.execute(statement, [workflow.DRAFT, workflow.DRAFT])
        found = [row[0] for row in cursor.fetchall()]
    # SQLite hands a computed date back as its ISO text
    return [
        m if isinstance(m, date) else date.fromisoformat(str(m)[:10]) for m in found
    ]


def years_with_data() -> list[int]:
    """Years in which some claim's training ended (drafts aside) or a budget was set."""
    claim_years = {month.year for month in months_with_claims()}
    budget_years = set(
        FundBudget.objects.values_list("year", flat=True).distinct().order_by()
    )
    return sorted(y for y in claim_years | budget_years if y)


def latest_year_with_data(user: User) -> int:
    """The year a dashboard opens on for ``user``: the latest year, not after this one,
    in which a claim within the user's scope ended its training (drafts aside), else
    the latest year a budget was set for, else this year. Data older than this year
    (the demo's 2020–2021) opens on its own year, not on an empty page."""
    this_year = timezone.localdate().year
    claims = unit_scoped(_kept_summaries(), user)
    # the latest month, not its year: MAX of the indexed column reads one index entry
    last = claims.filter(month__year__lte=this_year).aggregate(m=Max("month"))["m"]
    latest = last.year if last else None
    if latest is None:
        latest = (
            FundBudget.objects.filter(year__lte=this_year)
            .aggregate(y=Max("year"))
            .get("y")
        )
    return int(latest) if latest else this_year


# --- Rows as the pages show them ------------------------------------------------------
@dataclass(frozen=True)
class Row:
    key: Any
    label: str
    figures: Figures


def units() -> list[Unit]:
    return list(Unit.objects.order_by("sort_order", "code"))


def by_unit(year: int, all_units: Iterable[Unit]) -> list[Row]:
    figures = grouped(year, UNIT)
    return [Row(u.code, u.name, figures.get((u.code,), EMPTY)) for u in all_units]


def by_month(year: int, *, unit: str | None = None) -> list[Row]:
    figures = grouped(year, MONTH, unit=unit)
    return [Row(m, f"{m}月", figures.get((m,), EMPTY)) for m in range(1, 13)]


def by_quarter(year: int, *, unit: str | None = None) -> list[Row]:
    figures = grouped(year, QUARTER, unit=unit)
    return [Row(q, f"{year}Q{q}", figures.get((q,), EMPTY)) for q in range(1, 5)]


def by_program(year: int, *, unit: str | None = None) -> list[Row]:
    figures = grouped(year, PROGRAM, unit=unit)
    return [
        Row(number, f"{number}. {name}", f)
        for (number, name), f in sorted(figures.items(), key=lambda i: i[0][0])
    ]


def by_fund(year: int, *, unit: str | None = None) -> list[Row]:
    figures = grouped(year, FUND, unit=unit)
    return [
        Row(fund, fund_label(fund, blank=UNFUNDED), f)
        for (fund,), f in sorted(figures.items(), key=lambda i: fund_sort_key(i[0][0]))
    ]


@dataclass(frozen=True)
class QuarterFund:
    quarter: int
    fund: str
    figures: Figures


def by_quarter_and_fund(year: int) -> list[QuarterFund]:
    figures = grouped(year, {**QUARTER, **FUND})
    return [
        QuarterFund(q, fund, f) for (q, fund), f in sorted(figures.items(), key=str)
    ]


# --- The review backlog ---------------------------------------------------------------
@dataclass(frozen=True)
class BacklogRow:
    unit: str
    unit_name: str
    fresh: int = 0
    middle: int = 0
    old: int = 0
    amount: Decimal = ZERO
    #: the day the longest-waiting claim was submitted (None: unknown or none waiting)
    oldest: date | None = None

    @property
    def total(self) -> int:
        return self.fresh + self.middle + self.old


def backlog(all_units: Iterable[Unit], *, unit: str | None = None) -> list[BacklogRow]:
    """Claims waiting for the prefecture's decision now (submitted, in a submitted
    report), by unit and days since the claim was submitted: 0–7, 8–30, over 30.

    Read from the backlog rows (``claims.models.BacklogEntry``) of the submitted
    reports, summed per unit and day — a few rows per day of a quarter — rather than
    from the waiting claims (125 ms for 269,000 of them at ten million claims)."""
    today = timezone.localdate()
    week, month = today - timedelta(days=7), today - timedelta(days=30)
    rows = BacklogEntry.objects.filter(report__status=ReportStatus.SUBMITTED)
    if unit:
        rows = rows.filter(unit_id=unit)
    bands: dict[str, dict[str, Any]] = {}
    for r in (
        rows.values("unit_id", "day")
        .annotate(n=Sum("claims"), a=Sum("amount"))
        .order_by("unit_id", "day")
    ):
        if not r["n"]:
            continue  # every claim of that day decided
        band = bands.setdefault(
            r["unit_id"],
            {"fresh": 0, "middle": 0, "old": 0, "amount": ZERO, "oldest": None},
        )
        day = r["day"]
        age = "fresh" if day >= week else "middle" if day >= month else "old"
        band[age] += r["n"]
        band["amount"] += r["a"] or ZERO
        if band["oldest"] is None and day != NO_DAY:
            band["oldest"] = day
    result = []
    for u in all_units:
        if unit and u.code != unit:
            continue
        b = bands.get(u.code)
        if b is None:
            result.append(BacklogRow(u.code, u.name))
            continue
        result.append(
            BacklogRow(
                u.code,
                u.name,
                fresh=b["fresh"],
                middle=b["middle"],
                old=b["old"],
                amount=money(b["amount"]),
                oldest=b["oldest"],
            )
        )
    return result


# --- Budget execution (七(五)) --------------------------------------------------------
@dataclass(frozen=True)
class BudgetLine:
    """A fund's budget and its execution. ``budget`` None: no budget entered (no limit)."""

    unit: str
    unit_name: str
    fund: str
    budget: Decimal | None
    approved: Decimal
    pending: Decimal
    paid: Decimal

    @property
    def fund_label(self) -> str:
        return fund_label(self.fund, blank=UNFUNDED)

    @property
    def fund_short(self) -> str:
        return fund_short(self.fund)

    @property
    def remaining(self) -> Decimal | None:
        """Budget less approved and pending: what is left if the pending are approved."""
        return quarter_rules.budget_remaining(self.budget, self.approved, self.pending)

    @property
    def used_percent(self) -> Decimal | None:
        if self.budget is None:
            return None
        return percent(self.approved + self.pending, self.budget)

    @property
    def over(self) -> bool:
        """The approved money is past the budget: only an approval with a stated
        reason (or a budget lowered since) gets here, and any further approval into
        the line is refused without one — what the approval guard says."""
        return quarter_rules.budget_excess(self.budget, self.approved) is not None

    @property
    def pending_excess(self) -> quarter_rules.BudgetExcess | None:
        """Approving everything still pending would take the line past the budget
        (by ``over_by``): what ``quarters.budgets.budget_impact`` reports, and the bulk
        approval refuses without a reason, for the same claims."""
        return quarter_rules.budget_excess(self.budget, self.approved, self.pending)


def budget_execution(
    year: int, all_units: Iterable[Unit], *, unit: str | None = None
) -> list[BudgetLine]:
    """Every (unit, fund) with a budget or money in the year: three queries."""
    entered = FundBudget.objects.filter(year=year)
    if unit:
        entered = entered.filter(unit_id=unit)
    amounts = {(b.unit_id, b.fund): b.amount for b in entered}
    figures = grouped(year, {**UNIT, **FUND}, unit=unit)
    names = {u.code: u.name for u in all_units}
    order = {code: i for i, code in enumerate(names)}
    keys = sorted(
        set(amounts) | {k for k in figures if k[1]},
        key=lambda k: (order.get(k[0], 99), *fund_sort_key(k[1])),
    )
    return [
        BudgetLine(
            unit=u,
            unit_name=names.get(u, u),
            fund=f,
            budget=amounts.get((u, f)),
            approved=figures.get((u, f), EMPTY).approved,
            pending=figures.get((u, f), EMPTY).pending,
            paid=figures.get((u, f), EMPTY).paid,
        )
        for u, f in keys
    ]


@dataclass(frozen=True)
class FundExecution:
    """Budget execution summed over units for one fund. The remaining and the share
    used count only the units that have a budget (the others have no limit)."""

    fund: str
    budget: Decimal | None
    approved: Decimal
    pending: Decimal
    paid: Decimal
    units_without_budget: int
    budgeted_approved: Decimal = ZERO
    budgeted_pending: Decimal = ZERO

    @property
    def fund_label(self) -> str:
        return fund_label(self.fund, blank=UNFUNDED)

    @property
    def fund_short(self) -> str:
        return fund_short(self.fund)

    @property
    def remaining(self) -> Decimal | None:
        return quarter_rules.budget_remaining(
            self.budget, self.budgeted_approved, self.budgeted_pending
        )

    @property
    def used_percent(self) -> Decimal | None:
        if self.budget is None:
            return None
        return percent(self.budgeted_approved + self.budgeted_pending, self.budget)

    @property
    def over(self) -> bool:
        """The budgeted units' approved money, together, is past their budgets."""
        return (
            quarter_rules.budget_excess(self.budget, self.budgeted_approved) is not None
        )

    @property
    def pending_excess(self) -> quarter_rules.BudgetExcess | None:
        """Approving everything pending in the budgeted units would pass their
        budgets, together."""
        return quarter_rules.budget_excess(
            self.budget, self.budgeted_approved, self.budgeted_pending
        )


def execution_by_fund(lines: Iterable[BudgetLine]) -> list[FundExecution]:
    """Sum the unit lines per fund (Python over the SQL sums: exact decimals)."""
    funds: dict[str, dict[str, Any]] = {}
    for line in lines:
        f = funds.setdefault(
            line.fund,
            {
                "budget": None,
                "approved": ZERO,
                "pending": ZERO,
                "paid": ZERO,
                "no": 0,
                "b_approved": ZERO,
                "b_pending": ZERO,
            },
        )
        if line.budget is None:
            f["no"] += 1
        else:
            f["budget"] = (f["budget"] or ZERO) + line.budget
            f["b_approved"] += line.approved
            f["b_pending"] += line.pending
        f["approved"] += line.approved
        f["pending"] += line.pending
        f["paid"] += line.paid
    return [
        FundExecution(
            fund=fund,
            budget=f["budget"],
            approved=f["approved"],
            pending=f["pending"],
            paid=f["paid"],
            units_without_budget=f["no"],
            budgeted_approved=f["b_approved"],
            budgeted_pending=f["b_pending"],
        )
        for fund, f in funds.items()
    ]


@dataclass
class BudgetsOverview:
    """What finance's budget page shows for a year: the budgets entered, their
    execution per unit and per fund, their history and the approvals past them."""

    year: int
    years: list[int]
    units: list[Unit]
    entered: dict[tuple[str, str], Decimal]  # (unit, fund) → the budget entered
    lines: list[BudgetLine]
    funds: list[FundExecution]
    changes: list[budgets.BudgetChange]
    overrides: list[BudgetOverride]


def budgets_overview(year: int) -> BudgetsOverview:
    all_units = units()
    lines = budget_execution(year, all_units)
    return BudgetsOverview(
        year=year,
        # the years with data, this one, and next year's (to enter it ahead)
        years=sorted(set(years_with_data()) | {year, timezone.localdate().year + 1}),
        units=all_units,
        entered={(b.unit_id, b.fund): b.amount for b in budgets.budgets_for_year(year)},
        lines=lines,
        funds=execution_by_fund(lines),
        changes=budgets.budget_changes(year),
        overrides=budgets.overrides(year),
    )


# --- Whole dashboards -----------------------------------------------------------------
@dataclass
class PrefectureDashboard:
    year: int
    target: int
    years: list[int]
    total: Figures
    months: list[Row]
    units: list[Row]
    programs: list[Row]
    funds: list[Row]
    backlog: list[BacklogRow]
    budget_lines: list[BudgetLine]
    budget_funds: list[FundExecution] = field(default_factory=list)
    #: The 10,000 target counts the work year (六(二)/(三)), not the calendar year.
    work_year: WorkYear | None = None
    work_year_total: Figures = EMPTY

    @property
    def progress(self) -> Decimal | None:
        return percent(self.work_year_total.person_times, self.target)


def prefecture_dashboard(year: int) -> PrefectureDashboard:
    all_units = units()
    lines = budget_execution(year, all_units)
    wy = work_year(year)
    return PrefectureDashboard(
        year=year,
        target=annual_target(),
        work_year=wy,
        work_year_total=totals(year, span=wy.span),
        years=years_with_data(),
        total=totals(year),
        months=by_month(year),
        units=by_unit(year, all_units),
        programs=by_program(year),
        funds=by_fund(year),
        backlog=backlog(all_units),
        budget_lines=lines,
        budget_funds=execution_by_fund(lines),
    )


@dataclass(frozen=True)
class ReportRow:
    quarter: str
    report_id: int | None
    status: str
    status_label: str
    claim_count: int | None
    control_total: Decimal | None
    submitted_at: datetime | None
    closed_at: datetime | None


@dataclass(frozen=True)
class Awaiting:
    drafts_eligible: int
    drafts_refused: int
    returned: int
    returned_claims: list[Claim]


@dataclass
class UnitDashboard:
    year: int
    unit: Unit
    years: list[int]
    total: Figures
    months: list[Row]
    programs: list[Row]
    funds: list[Row]
    budget_lines: list[BudgetLine]
    backlog: BacklogRow
    reports: list[ReportRow]
    current_quarter: str
    awaiting: Awaiting


def unit_reports(unit: str, year: int) -> list[ReportRow]:
    """The unit's quarterly report of each quarter of the year (discarded ones aside)."""
    found = {
        r.quarter: r
        for r in QuarterlyReport.objects.filter(
            unit_id=unit, quarter__startswith=f"{year}Q"
        ).exclude(status=ReportStatus.DISCARDED)
    }
    rows = []
    for q in range(1, 5):
        quarter = f"{year}Q{q}"
        r = found.get(quarter)
        rows.append(
            ReportRow(
                quarter=quarter,
                report_id=r.pk if r else None,
                status=r.status if r else "none",
                status_label=r.get_status_display() if r else "未编制",
                claim_count=r.claim_count if r else None,
                control_total=r.control_total if r else None,
                submitted_at=r.submitted_at if r else None,
                closed_at=r.closed_at if r else None,
            )
        )
    return rows


def awaiting_action(unit: str, *, limit: int = 10) -> Awaiting:
    """What the unit's clerks have to act on: drafts and returned claims (two queries)."""
    counts = Claim.objects.filter(
        unit_id=unit, status__in=[workflow.DRAFT, workflow.RETURNED]
    ).aggregate(
        # counting a column of the index (never null), not the id: read from the
        # index alone ("claim_unit_waiting")
        drafts_eligible=Count("unit", filter=Q(status=workflow.DRAFT, eligible=True)),
        drafts_refused=Count("unit", filter=Q(status=workflow.DRAFT, eligible=False)),
        returned=Count("unit", filter=Q(status=workflow.RETURNED)),
    )
    returned = list(
        Claim.objects.filter(unit_id=unit, status=workflow.RETURNED)
        .select_related("trainee", "program")
        .order_by("reviewed_at", "pk")[:limit]
    )
    return Awaiting(
        drafts_eligible=counts["drafts_eligible"],
        drafts_refused=counts["drafts_refused"],
        returned=counts["returned"],
        returned_claims=returned,
    )


def dashboard_unit(user: User, code: str = "") -> Unit:
    """The unit whose dashboard ``user`` asks for by ``code`` (none asked: the first
    unit). A clerk has only their own: another unit is a 404, like a missing one. Who
    may look at all is the page's to check first."""
    if user.is_clerk:
        if code and code != user.unit_id:
            raise NotFound("未找到该单位")
        return Unit.objects.get(pk=user.unit_id)
    unit = Unit.objects.filter(pk=code).first() if code else None
    if code and unit is None:
        raise NotFound("未找到该单位")
    return unit or Unit.objects.order_by("sort_order", "code").first()  # type: ignore[return-value]


def unit_dashboard(year: int, unit: Unit) -> UnitDashboard:
    today = timezone.localdate()
    return UnitDashboard(
        year=year,
        unit=unit,
        years=years_with_data(),
        total=totals(year, unit=unit.code),
        months=by_month(year, unit=unit.code),
        programs=by_program(year, unit=unit.code),
        funds=by_fund(year, unit=unit.code),
        budget_lines=budget_execution(year, [unit], unit=unit.code),
        backlog=backlog([unit], unit=unit.code)[0],
        reports=unit_reports(unit.code, year),
        current_quarter=f"{today.year}Q{(today.month - 1) // 3 + 1}",
        awaiting=awaiting_action(unit.code),
    )


@dataclass(frozen=True)
class FailedPayments:
    count: int
    amount: Decimal
    payments: list[Payment]


def failed_payments_summary(*, limit: int = 20) -> FailedPayments:
    """``finance.selectors.failed_payments`` (failed, not yet re-issued, of every year:
    finance's worklist) counted and summed, the latest ``limit`` of them listed."""
    open_failures = finance_selectors.failed_payments()
    summary = open_failures.aggregate(n=Count("id"), amount=Sum("amount"))
    listed = list(open_failures.order_by("-paid_on", "-pk")[:limit])
    return FailedPayments(summary["n"], money(summary["amount"]), listed)


@dataclass
class FinanceDashboard:
    year: int
    years: list[int]
    total: Figures
    quarters: list[Row]
    quarter_funds: list[QuarterFund]
    funds: list[Row]
    budget_lines: list[BudgetLine]
    budget_funds: list[FundExecution]
    failed: FailedPayments


def finance_dashboard(year: int) -> FinanceDashboard:
    all_units = units()
    lines = budget_execution(year, all_units)
    return FinanceDashboard(
        year=year,
        years=years_with_data(),
        total=totals(year),
        quarters=by_quarter(year),
        quarter_funds=by_quarter_and_fund(year),
        funds=by_fund(year),
        budget_lines=lines,
        budget_funds=execution_by_fund(lines),
        failed=failed_payments_summary(),
    )
