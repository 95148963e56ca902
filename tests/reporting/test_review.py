"""The November review (考核验收, 六(三)): figures per unit against the targets, and the
workbook — a summary and a sheet per unit — whose figures equal the database's."""

from __future__ import annotations

import io
from decimal import Decimal

from django.db.models import Count, Q, Sum

import pytest
from openpyxl import load_workbook

from claims.models import Claim
from claims.rules import COUNTING_STATUSES
from programs.models import Unit
from quarters.budgets import budget_set
from reporting import review
from reporting.dashboards import DEFAULT_ANNUAL_TARGET
from tests.reporting.test_dashboards import A, B, Y, build_year

pytestmark = pytest.mark.django_db


@pytest.fixture
def year(claim_input, reviewer, finance):
    built = build_year(claim_input, reviewer, finance)
    budget_set(unit_id=A, year=Y, fund="special", amount="20000", actor=finance)
    return built


def test_each_units_review_against_the_target(year):
    r = review.review_figures(Y)
    assert r.target == DEFAULT_ANNUAL_TARGET == 10_000
    a = r.unit(A)
    assert (a.figures.person_times, a.figures.passed, a.figures.employed) == (7, 6, 7)
    assert a.share_of_target == Decimal("0.07")
    assert a.figures.pass_rate == Decimal("85.7")
    assert a.figures.employment_rate == Decimal("100.0")
    # every claim of the year is 中级 (四级): none at 三级 or above
    assert (a.certified, a.high_skill, a.high_skill_share) == (6, 0, Decimal("0.0"))
    [special] = a.funds
    assert special.budget == Decimal("20000.00")
    assert special.figures.approved == Decimal("5397.00")
    assert special.remaining == Decimal("9803.00")  # 20000 − 5397 − 4800
    assert special.execution == Decimal("27.0")
    b = r.unit(B)
    assert [(f.fund, f.budget) for f in b.funds] == [
        ("special", None),
        ("poverty", None),
    ]
    assert r.total.figures.person_times == 10
    assert r.total.figures.approved == Decimal("10794.00")
    assert not r.target_met
    assert len(r.units) == Unit.objects.count()


def test_the_target_is_a_setting(year, settings):
    settings.ANNUAL_PERSON_TIMES_TARGET = 8
    r = review.review_figures(Y)
    assert r.target == 8 and r.target_met and r.progress == Decimal("125.0")


def workbook(r: review.Review):
    out = io.BytesIO()
    review.write_review_workbook(r, out)
    out.seek(0)
    return load_workbook(out)


def test_the_workbook_has_a_summary_and_a_sheet_per_unit(year):
    wb = workbook(review.review_figures(Y))
    units = list(Unit.objects.order_by("sort_order", "code"))
    assert wb.sheetnames == ["汇总", *[f"{u.code}{u.name}"[:31] for u in units]]
    summary = wb["汇总"]
    assert summary.freeze_panes == "A4"
    assert summary["A3"].value == "单位代码"
    assert summary.column_dimensions["B"].width >= 10
    assert wb[f"{A}阿勒泰市"].freeze_panes == "A9"


def test_the_workbooks_figures_equal_the_database(year):
    wb = workbook(review.review_figures(Y))
    rows = {
        r[0].value: [c.value for c in r]
        for r in wb["汇总"].iter_rows(min_row=4)
        if r[0].value and str(r[0].value).isdigit()
    }
    counted = Claim.objects.filter(
        status__in=sorted(COUNTING_STATUSES), training_end__year=Y
    ).exclude(program_id=11)
    for unit in Unit.objects.all():
        db = counted.filter(unit=unit).aggregate(
            n=Count("id"),
            passed=Count("id", filter=Q(passed=True)),
            approved=Sum("approved_amount", filter=Q(status="approved")),
        )
        row = rows[unit.code]
        assert row[1] == unit.name
        assert row[2] == db["n"]
        assert row[4] == db["passed"]
        assert Decimal(str(row[10])) == Decimal(str(db["approved"] or 0))
    a = rows[A]
    assert a[2:9] == [7, pytest.approx(0.0007), 6, pytest.approx(0.857), 7, 1.0, 0.0]
    assert [Decimal(str(v)) for v in a[9:13]] == [
        Decimal("11597"),
        Decimal("5397"),
        Decimal("4800"),
        Decimal("1320"),
    ]
    assert Decimal(str(a[13])) == Decimal("20000")
    assert rows[B][13] == "未设预算"
    money = wb["汇总"].cell(row=5, column=11)
    assert money.number_format == "#,##0.00"


def test_a_unit_sheet_shows_its_funds_against_the_budget(year):
    ws = workbook(review.review_figures(Y))[f"{A}阿勒泰市"]
    values = [[c.value for c in row] for row in ws.iter_rows()]
    assert values[2][:2] == ["培训人次", 7]
    header = values.index(
        [
            "资金渠道",
            "预算（元）",
            "申请金额（元）",
            "核准金额（元）",
            "待审金额（元）",
            "已拨付（元）",
            "预算余额（元）",
            "预算执行率",
        ]
    )
    special = values[header + 1]
    assert special[0] == "职业技能提升行动专项资金"
    assert [Decimal(str(v)) for v in special[1:7]] == [
        Decimal("20000"),
        Decimal("11597"),
        Decimal("5397"),
        Decimal("4800"),
        Decimal("1320"),
        Decimal("9803"),
    ]
    assert special[7] == pytest.approx(0.27)


def test_text_in_the_workbook_is_never_a_formula(year):
    Unit.objects.filter(code=A).update(name="=HYPERLINK(1)")
    summary = workbook(review.review_figures(Y))["汇总"]
    cell = next(r[1] for r in summary.iter_rows(min_row=4) if r[0].value == A)
    assert cell.value == "=HYPERLINK(1)"
    assert cell.data_type == "s" and cell.quotePrefix is True
