"""The live panels keep their page (issue 15, item 1), under the settings ``make run``
uses (DEBUG=1) and the production ones.

django-htmx's ``{% htmx_script %}`` adds its debug script whenever DEBUG is on, and that
script replaces the whole document with any 400/403/404/500 answer to an htmx request:
typing an ID number on the claim form left an unstyled fragment. Each panel here is sent
an incomplete form; the page must keep its navigation and its form, and the panel must
say, in Chinese, what is missing.
"""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import Page, expect

from accounts.models import Role
from claims.models import Claim
from finance import services as finance_services
from finance.models import Rollup
from quarters import services as quarter_services
from tests.factories import TraineeFactory, UserFactory
from tests.quarter_run import run_quarter

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]

PASSWORD = "pw-Altay-2019"


@pytest.fixture(params=[True, False], ids=["DEBUG=1", "DEBUG=0"])
def debug(request: pytest.FixtureRequest, settings: Any) -> bool:
    """pytest-django forces DEBUG off; ``make run`` has it on: both are tried."""
    settings.DEBUG = request.param
    return bool(request.param)


def sign_in(page: Page, base_url: str, username: str) -> None:
    page.goto(f"{base_url}/accounts/login/")
    page.get_by_label("用户名").fill(username)
    page.get_by_label("密码").fill(PASSWORD)
    page.get_by_role("button", name="登录").click()
    expect(page.get_by_test_id("current-user")).to_be_visible()


def expect_layout(page: Page) -> None:
    """The page is still the application's page: its header, navigation and footer."""
    expect(page.locator("header.app-header")).to_be_visible()
    expect(page.locator("#main-nav")).to_be_attached()
    expect(page.locator("footer.app-footer")).to_be_visible()
    expect(page.locator("link[href*='bootstrap']")).to_have_count(1)


def test_the_claim_form_keeps_its_page_while_the_clerk_types(
    live_server: Any, debug: bool, page: Page, screenshot: Any
) -> None:
    UserFactory(username="liming", role=Role.COUNTY_CLERK, unit_id="654301")
    person = TraineeFactory(name="古丽娜尔", groups=["poor_labour"])
    sign_in(page, live_server.url, "liming")
    page.goto(f"{live_server.url}/claims/new/")

    # when: an ID number is typed and a program chosen (an incomplete form)
    page.get_by_test_id("claim-id-number").fill(person.id_number)
    expect(page.get_by_test_id("trainee-summary")).to_contain_text("古丽娜尔")
    page.select_option("#id_program", "9")

    # then: the page keeps its layout and the panel says what is still missing
    pending = page.get_by_test_id("decision-pending")
    expect(pending).to_contain_text("尚未填写")
    expect(pending).to_contain_text("培训机构/企业")
    expect(pending).to_contain_text("申请金额（元）")
    expect_layout(page)
    expect(page.locator("#claim-form")).to_be_visible()
    expect(page.get_by_test_id("trainee-summary")).to_contain_text("古丽娜尔")
    screenshot(page, f"15-01-claim-form-partial-debug{int(debug)}")


@pytest.fixture
def submitted_quarter(claim_input: Any, reviewer: Any) -> Any:
    """Two units' reports with the prefecture; unit 654301's is sampled."""
    quarter = run_quarter(claim_input, reviewer, decide=False)
    report = quarter.reports[0]
    quarter_services.report_draw_spot_checks(report_id=report.pk, actor=reviewer)
    return report


def test_the_spot_check_form_keeps_its_page(
    live_server: Any, debug: bool, submitted_quarter: Any, page: Page, screenshot: Any
) -> None:
    report = submitted_quarter
    check = report.spot_checks.order_by("pk").first()
    sign_in(page, live_server.url, "reviewer")
    page.goto(f"{live_server.url}/reports/{report.pk}/")

    # when: "材料不符" is recorded without the explanation it needs
    cell = page.get_by_test_id(f"spot-check-{check.claim_id}")
    cell.get_by_test_id(f"spot-result-{check.claim_id}").select_option("inconsistent")
    cell.get_by_test_id(f"spot-record-{check.claim_id}").click()

    # then: the reason shows in the cell, and the page is still the report page
    expect(page.get_by_test_id(f"spot-check-{check.claim_id}")).to_contain_text(
        "材料不符须说明情况"
    )
    expect_layout(page)
    expect(page.get_by_test_id("report-figures")).to_be_visible()
    screenshot(page, f"15-02-spot-check-partial-debug{int(debug)}")


def test_the_payment_form_keeps_its_page(
    live_server: Any,
    debug: bool,
    claim_input: Any,
    reviewer: Any,
    finance: Any,
    page: Page,
    screenshot: Any,
) -> None:
    run_quarter(claim_input, reviewer)
    rollup = finance_services.rollup_request(quarter="2020Q1", actor=reviewer)
    finance_services.rollup_build(rollup_id=rollup.pk)
    assert Rollup.objects.get(pk=rollup.pk).status == "ready"
    claim = Claim.objects.filter(status="approved").order_by("pk").first()
    sign_in(page, live_server.url, "finance")
    page.goto(f"{live_server.url}/rollups/{rollup.pk}/")

    # when: a failed payment is recorded without its reason
    row = page.get_by_test_id(f"pay-row-{claim.pk}")
    row.get_by_test_id(f"pay-open-{claim.pk}").click()
    row.get_by_label("拨付结果").select_option("failed")
    row.get_by_test_id(f"pay-submit-{claim.pk}").click()

    # then: the reason shows in the row, and the page is still the rollup page
    expect(page.get_by_test_id(f"pay-row-{claim.pk}")).to_contain_text(
        "拨付失败须填写原因"
    )
    expect_layout(page)
    expect(page.get_by_test_id("payment-summary")).to_be_visible()
    screenshot(page, f"15-03-payment-partial-debug{int(debug)}")
