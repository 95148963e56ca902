"""Each role's dashboard in a real browser, with screenshots looked at by a person:
the charts are drawn (Chart.js from static, never a CDN) and each has its numbers in a
table beside it.

Data are made with services: the 2020 of ``tests.reporting.test_dashboards.build_year``,
a budget that approving went past (with the reason kept), and a few anomalies.
"""

from __future__ import annotations

import io
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from openpyxl import load_workbook
from playwright.sync_api import Page, expect

from quarters import services as quarter_services
from quarters.budgets import budget_set
from quarters.models import FundBudget
from tests.factories import TraineeFactory, make_id_number
from tests.reporting.test_dashboards import (
    A,
    B,
    Y,
    build_year,
    file_claim,
)

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]

PASSWORD = "pw-Altay-2019"


@pytest.fixture(autouse=True)
def _anomaly_threshold(settings: Any) -> None:
    settings.ANOMALY_CLAIMS_PER_DAY = 5


@pytest.fixture
def office(claim_input, reviewer, finance) -> Any:
    year = build_year(claim_input, reviewer, finance)
    reviewer.first_name, finance.first_name = "赵军", "李淑芳"
    reviewer.save(update_fields=["first_name"])
    finance.save(update_fields=["first_name"])
    year.clerk_a.first_name = "李明"
    year.clerk_a.save(update_fields=["first_name"])
    # A budget for 阿勒泰市's special fund, and one approval past it with its reason.
    budget_set(unit_id=A, year=Y, fund="special", amount="6000", actor=finance)
    quarter_services.claim_approve(
        claim_id=year.e1.pk,
        actor=reviewer,
        budget_reason="地区财政局同意追加预算，文件待补",
    )
    # Anomalies: one person's overlapping trainings, a 15-year-old, a shared phone.
    person = TraineeFactory(
        name="阿依古丽", phone="13999990001", registered_by_unit_id=B
    )
    file_claim(claim_input, year.clerk_b, trainee=person, certificate_number="FY-01")
    file_claim(
        claim_input,
        year.clerk_b,
        trainee=person,
        trade_id="4-07-05-01",
        certificate_number="FY-02",
        training_start=date(2020, 3, 20),
        training_end=date(2020, 4, 20),
    )
    young = TraineeFactory(
        name="小明", id_number=make_id_number(date(2005, 6, 1)), registered_by_unit_id=B
    )
    year.extra["young"] = file_claim(
        claim_input, year.clerk_b, trainee=young, certificate_number="FY-03"
    )
    TraineeFactory(name="同号一", phone="13999990001")
    TraineeFactory(name="同号二", phone="13999990001")
    return year


def sign_in(page: Page, base_url: str, username: str) -> None:
    page.goto(f"{base_url}/accounts/login/")
    page.get_by_label("用户名").fill(username)
    page.get_by_label("密码").fill(PASSWORD)
    page.get_by_role("button", name="登录").click()
    expect(page.get_by_test_id("current-user")).to_be_visible()


def charts_drawn(page: Page) -> int:
    """Wait until every chart of the page is drawn; each has a table beside it."""
    canvases = page.locator("canvas[data-chart]")
    count = canvases.count()
    assert count > 0
    expect(page.locator("canvas[data-chart-ready=true]")).to_have_count(count)
    for i in range(count):
        panel = page.locator(".dash-panel").nth(i)
        chart_box = panel.locator("canvas").bounding_box()
        table_box = panel.locator("table").bounding_box()
        assert chart_box and table_box and chart_box["width"] > 200
        # beside, not below: the table starts right of the chart, level with it
        assert table_box["x"] > chart_box["x"] + chart_box["width"] - 1
        assert table_box["y"] < chart_box["y"] + chart_box["height"]
    return count


def test_the_reviewers_dashboards(live_server, office, page: Page, screenshot):
    base = live_server.url
    scripts: list[str] = []
    page.on(
        "request",
        lambda r: scripts.append(r.url) if r.resource_type == "script" else None,
    )
    sign_in(page, base, "reviewer")

    page.goto(f"{base}/dashboards/prefecture/?year={Y}")
    expect(page.get_by_test_id("dashboard-title")).to_contain_text("全地区 · 2020年")
    # person-times count the claims that count toward the yearly limit: the returned
    # one too (issue 11: one set of counted statuses)
    expect(page.get_by_test_id("kpi-person-times")).to_contain_text("13 / 10,000")
    assert charts_drawn(page) == 10
    expect(page.get_by_test_id("table-units")).to_contain_text("阿勒泰市")
    expect(page.get_by_test_id("budget-lines")).to_contain_text("6,000.00")
    expect(page.get_by_test_id("definitions")).to_contain_text("培训结束日期在所选年度")
    screenshot(page, "40-dashboard-prefecture")
    # Chart.js came from the app's own static files.
    assert any(u.endswith("/static/vendor/chartjs/chart.umd.js") for u in scripts)
    assert all(u.startswith(base) for u in scripts)

    page.get_by_test_id("tab-anomalies").click()
    expect(page.get_by_test_id("anomaly-overlaps")).to_contain_text("阿依古丽")
    expect(page.get_by_test_id("anomaly-ages")).to_contain_text("小明")
    expect(page.get_by_test_id("anomaly-phones")).to_contain_text("13999990001")
    expect(page.get_by_test_id("anomaly-bursts")).to_contain_text("笔数")
    charts_drawn(page)
    screenshot(page, "41-dashboard-anomalies")
    # each finding links to its claim
    page.get_by_test_id("anomaly-ages").get_by_role("link").first.click()
    expect(page).to_have_url(f"{base}/claims/{office.extra['young'].pk}/")
    expect(page.get_by_test_id("claim-status")).to_be_visible()

    page.goto(f"{base}/dashboards/review/{Y}/")
    expect(page.get_by_test_id("review-person-times")).to_contain_text("13 / 10,000")
    charts_drawn(page)
    screenshot(page, "42-dashboard-review")
    page.get_by_test_id("review-table").get_by_role("link", name="阿勒泰市").click()
    expect(page.get_by_test_id("unit-person-times")).to_have_text(
        "7"
    )  # the returned claim counts too
    charts_drawn(page)
    screenshot(page, "43-dashboard-review-unit")
    with page.expect_download() as download:
        page.get_by_role("link", name="下载考核验收表（Excel）").click()
    book = load_workbook(io.BytesIO(Path(download.value.path()).read_bytes()))
    assert book.sheetnames[0] == "汇总" and f"{A}阿勒泰市" in book.sheetnames


def test_a_clerks_unit_dashboard(live_server, office, page: Page, screenshot):
    sign_in(page, live_server.url, "q_clerk_a")
    page.goto(f"{live_server.url}/dashboards/?year={Y}")
    expect(page.get_by_test_id("dashboard-title")).to_have_text("阿勒泰市 · 2020年统计")
    expect(page.get_by_test_id("returned")).to_have_text("1")
    expect(page.get_by_test_id("unit-reports")).to_contain_text("已报送")
    charts_drawn(page)
    expect(page.get_by_test_id("table-budget")).to_contain_text("6,000.00")
    screenshot(page, "44-dashboard-unit")
    # another unit's dashboard is not theirs
    response = page.goto(f"{live_server.url}/dashboards/unit/?unit=654322")
    assert response is not None and response.status == 404


def test_finance_dashboards_and_budgets(live_server, office, page: Page, screenshot):
    base = live_server.url
    sign_in(page, base, "finance")
    page.goto(f"{base}/dashboards/?year={Y}")
    expect(page.get_by_test_id("dashboard-title")).to_contain_text("资金拨付 · 2020年")
    expect(page.get_by_test_id("kpi-failed")).to_contain_text("1 笔 · 640.00 元")
    expect(page.get_by_test_id("failed-payments")).to_contain_text("收款账户信息有误")
    charts_drawn(page)
    screenshot(page, "45-dashboard-finance")

    page.get_by_test_id("tab-budgets").click()
    page.get_by_test_id("b-654322-special").fill("8000")
    page.get_by_label("变更说明").fill("依据2020年度预算批复")
    page.get_by_test_id("save-budgets").click()
    expect(page.locator(".alert-success")).to_contain_text("已保存2020年度1项预算")
    assert FundBudget.objects.get(unit_id="654322", year=Y).amount == 8000
    expect(page.get_by_test_id("budget-history")).to_contain_text(
        "依据2020年度预算批复"
    )
    expect(page.get_by_test_id("budget-overrides")).to_contain_text(
        "地区财政局同意追加预算"
    )
    charts_drawn(page)
    screenshot(page, "46-dashboard-budgets")
