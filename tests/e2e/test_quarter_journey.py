"""The quarter in a real browser: the reviewer opens the quarter, draws and records the
spot checks, approves in bulk, rejects one claim with a reason, closes both units'
reports and sends the quarter to finance; the rollup page follows the task to ready and
hands out the workbook; finance is told, pays, records a failure and re-issues it; the
public disclosure page shows the quarter's totals without any personal data."""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal
from typing import Any

from django.db.models import Sum
from django.utils import timezone

import pytest
from openpyxl import load_workbook
from playwright.sync_api import Dialog, Page, expect

from accounts.models import Role
from claims import services
from claims.models import Claim
from finance import services as reporting_services
from finance.models import Payment, Rollup
from quarters import services as quarter_services
from quarters.models import QuarterlyReport, SpotCheck
from tests.e2e.conftest import CONTEXT_ARGS
from tests.factories import (
    InstitutionFactory,
    TraineeFactory,
    UserFactory,
    sampled_evidence,
)

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]

PASSWORD = "pw-Altay-2019"
QUARTER = "2020Q1"
ID_NUMBER = re.compile(r"(?<![0-9A-Za-z])[0-9]{17}[0-9Xx](?![0-9A-Za-z])")


@pytest.fixture
def quarter(db: object, settings: Any, tmp_path: Any) -> dict[str, Any]:
    """Two units have each submitted their 2020Q1 report; nobody has reviewed them."""
    settings.MEDIA_ROOT = tmp_path
    UserFactory(username="zhaojun", first_name="赵军", role=Role.PREFECTURE_REVIEWER)
    UserFactory(username="qianli", first_name="钱丽", role=Role.FINANCE_OFFICER)
    units = [
        ("liming", "李明", "654301", "阿勒泰市鑫达建材有限公司", "enterprise", 4),
        (
            "wangfang",
            "王芳",
            "654322",
            "富蕴县职业技能培训学校",
            "training_institution",
            3,
        ),
    ]
    reports = {}
    for username, name, unit, school_name, kind, count in units:
        clerk = UserFactory(
            username=username, first_name=name, role=Role.COUNTY_CLERK, unit_id=unit
        )
        school = InstitutionFactory(name=school_name, unit_id=unit, kind=kind)
        for n in range(count):
            person = TraineeFactory(groups=["poor_labour"], registered_by_unit_id=unit)
            draft = services.claim_create(
                data=services.ClaimInput(
                    trainee_id=person.pk,
                    program_id=9,
                    institution_id=school.pk,
                    unit_id=unit,
                    training_start=date(2020, 3, 1),
                    training_end=date(2020, 3, 31),
                    amount_requested=Decimal("1800.00") - 100 * n,
                    trade_id=["4-03-02-01", "4-07-05-01", "4-10-01-05", "6-31-01-03"][
                        n
                    ],
                    level_id="intermediate",
                    passed=True,
                    certificate_number=f"{unit}-2020-{n:03d}",
                    employment="employed" if n % 2 == 0 else "flexible",
                ),
                actor=clerk,
            )
            services.claim_submit(claim_id=draft.pk, actor=clerk)
        report = quarter_services.report_build(
            unit_id=unit, quarter=QUARTER, actor=clerk
        )
        reports[unit] = quarter_services.report_submit(report_id=report.pk, actor=clerk)
    return {"reports": reports}


def sign_in(page: Page, base_url: str, username: str) -> None:
    page.goto(f"{base_url}/accounts/login/")
    page.get_by_label("用户名").fill(username)
    page.get_by_label("密码").fill(PASSWORD)
    page.get_by_role("button", name="登录").click()
    expect(page.get_by_test_id("current-user")).to_be_visible()


def accept_confirmations(page: Page) -> None:
    """The data-confirm questions (报送、审结、驳回…) are answered yes."""

    def accept(dialog: Dialog) -> None:
        dialog.accept()

    page.on("dialog", accept)


def record_spot_checks(page: Page, report: QuarterlyReport, *, first: int = 99) -> None:
    """Record the report's pending spot checks in place (htmx), at most ``first``."""
    pending = list(
        SpotCheck.objects.filter(report=report, result="pending").order_by("claim_id")
    )[:first]
    # the clerks uploaded each sampled claim's sign-in sheet; the reviewer opens each
    # from the page before ticking it (材料相符 names documents the reviewer opened)
    evidence = {check.pk: sampled_evidence(check.pk) for check in pending}
    page.reload()
    for check in pending:
        cell = page.get_by_test_id(f"spot-check-{check.claim_id}")
        for document in evidence[check.pk]:
            with page.expect_download():
                cell.get_by_test_id(f"spot-download-{document}").click()
            cell.get_by_test_id(f"examine-{document}").check()
        cell.get_by_test_id(f"spot-result-{check.claim_id}").select_option("consistent")
        cell.get_by_test_id(f"spot-note-{check.claim_id}").fill(
            "花名册、签到表与证书相符"
        )
        cell.get_by_test_id(f"spot-record-{check.claim_id}").click()
        expect(page.get_by_test_id(f"spot-check-{check.claim_id}")).to_contain_text(
            "抽查 · 材料相符"
        )


def test_a_quarter_from_review_to_payment_and_disclosure(
    live_server, quarter, browser, page: Page, screenshot, tmp_path, monkeypatch
):
    from finance.tasks import build_rollup

    base = live_server.url
    report_a = quarter["reports"]["654301"]
    report_b = quarter["reports"]["654322"]
    accept_confirmations(page)

    # The reviewer is told of the two reports waiting and opens the quarter.
    sign_in(page, base, "zhaojun")
    expect(page.get_by_test_id("notifications")).to_contain_text(
        "阿勒泰市报送的2020Q1季度报表待审核（4笔）"
    )
    page.locator("#main-nav").get_by_role("link", name="季度审核").click()
    overview = page.get_by_test_id("quarter-reports")
    expect(page.get_by_role("heading", name="2020Q1 季度审核")).to_be_visible()
    expect(overview.locator('tr[data-unit="654301"]')).to_contain_text("已报送")
    expect(overview.locator('tr[data-unit="654322"]')).to_contain_text("已报送")
    expect(page.get_by_test_id("request-rollup")).to_be_disabled()
    screenshot(page, "20-reviewer-quarter-overview")

    # 阿勒泰市: a 50% sample, recorded in place; the seed is on the page.
    overview.locator('tr[data-unit="654301"]').get_by_role("link", name="审核").click()
    expect(page.get_by_test_id("report-figures")).to_contain_text("合计")
    # before the draw nothing is offered for approval: the page says the draw comes first
    expect(page.get_by_test_id("approve-after-draw")).to_be_visible()
    expect(page.get_by_test_id("approve-all")).to_have_count(0)
    expect(page.get_by_test_id("draw-before-approval")).to_be_visible()
    screenshot(page, "20b-report-before-the-draw")
    page.get_by_label("抽查比例").fill("50")
    page.get_by_test_id("draw-spot-checks").click()
    report_a.refresh_from_db()
    expect(page.get_by_test_id("spot-check-seed")).to_have_text(
        report_a.spot_check_seed
    )
    assert SpotCheck.objects.filter(report=report_a).count() == 2
    record_spot_checks(page, report_a, first=1)
    screenshot(page, "21-report-spot-checks")
    record_spot_checks(page, report_a)
    assert not ID_NUMBER.search(page.content())

    # Approve all but the last in bulk; the last is rejected on its own page.
    claims = list(report_a.claims.order_by("pk"))
    for claim in claims[:-1]:
        page.get_by_test_id(f"select-{claim.pk}").check()
    page.get_by_test_id("approve-selected").click()
    expect(page.locator(".alert-success")).to_contain_text("已核准3笔申报")
    last = claims[-1]
    page.get_by_role("link", name=f"#{last.pk}", exact=True).click()
    page.get_by_label("审核意见").fill("培训签到表与花名册不一致")
    page.get_by_test_id("reject").click()
    # decided from its report: back on the report, nothing left to decide
    expect(page.locator(".alert-success")).to_contain_text(f"申报#{last.pk}已驳回")
    expect(page).to_have_url(re.compile(rf"/reports/{report_a.pk}/#claims$"))
    page.get_by_test_id("close-report").click()
    expect(page.locator(".alert-success")).to_contain_text(
        "阿勒泰市2020Q1季度报表已审结"
    )

    # 富蕴县: closing before deciding is refused with the service's reason.
    page.locator('tr[data-unit="654322"]').get_by_role("link", name="审核").click()
    page.get_by_test_id("draw-spot-checks").click()  # the default 10%
    expect(page.get_by_test_id("spot-check-seed")).to_be_visible()
    page.get_by_test_id("close-report").click()
    expect(page.locator(".alert-danger")).to_contain_text("报表中还有3笔申报未审核")
    record_spot_checks(page, report_b)
    page.get_by_test_id("approve-all").click()
    expect(page.locator(".alert-success")).to_contain_text("已核准3笔申报")
    page.get_by_test_id("close-report").click()
    expect(page.locator(".alert-success")).to_contain_text("富蕴县2020Q1季度报表已审结")
    assert set(QuarterlyReport.objects.values_list("status", flat=True)) == {"closed"}

    # Send the quarter to finance. The task is held back (as if no worker had picked
    # it up yet) so the page shows its progress; then it runs as a worker would run it,
    # and the polling page follows it to ready.
    with monkeypatch.context() as held:
        held.setattr(build_rollup, "delay", lambda **kwargs: None)
        page.get_by_test_id("request-rollup").click()
        expect(page.get_by_test_id("rollup-progress")).to_be_visible()
    progress = page.get_by_test_id("rollup-progress")
    expect(progress).to_have_attribute("data-status", "queued")
    rollup = Rollup.objects.get(quarter=QUARTER)
    Rollup.objects.filter(pk=rollup.pk).update(
        status="running", progress=30, started_at=timezone.now()
    )
    expect(progress).to_contain_text("30%")
    expect(progress).to_have_attribute("data-status", "running")
    screenshot(page, "22-rollup-in-progress")
    reporting_services.rollup_build(rollup_id=rollup.pk)
    expect(page.get_by_test_id("download-workbook")).to_be_visible()
    due = Claim.objects.filter(status="approved", report__quarter=QUARTER).aggregate(
        total=Sum("approved_amount")
    )["total"]
    expect(page.get_by_test_id("total-approved")).to_have_text(f"{due:.2f}")
    screenshot(page, "23-rollup-ready")

    # The workbook opens, and its summary total is the database's sum.
    with page.expect_download() as download:
        page.get_by_test_id("download-workbook").click()
    path = tmp_path / "workbook.xlsx"
    download.value.save_as(path)
    book = load_workbook(path)
    total = next(r for r in book["汇总"].iter_rows(values_only=True) if r[1] == "合计")
    assert Decimal(str(total[6])).quantize(Decimal("0.01")) == due
    book.close()

    # Finance is told, opens the rollup and pays.
    finance = browser.new_context(**CONTEXT_ARGS)
    try:
        fp = finance.new_page()
        accept_confirmations(fp)
        sign_in(fp, base, "qianli")
        notice = fp.get_by_test_id("notifications")
        expect(notice).to_contain_text("2020Q1季度汇总已生成，可下载拨付表并登记拨付")
        screenshot(fp, "23b-finance-home")
        notice.get_by_role("link", name=re.compile("2020Q1季度汇总已生成")).click()
        expect(fp.get_by_test_id("payment-summary")).to_contain_text(f"{due:.2f}")
        paid, failing = Claim.objects.filter(
            status="approved", report__quarter=QUARTER
        ).order_by("pk")[:2]

        row = fp.get_by_test_id(f"pay-row-{paid.pk}")
        row.get_by_test_id(f"pay-open-{paid.pk}").click()
        row.get_by_label("凭证号").fill("CZ-2020-0001")
        row.get_by_test_id(f"pay-submit-{paid.pk}").click()
        expect(fp.get_by_test_id(f"pay-row-{paid.pk}")).to_contain_text("已拨付")
        expect(fp.get_by_test_id("summary-paid")).to_have_text(
            f"{paid.approved_amount:.2f}"
        )

        row = fp.get_by_test_id(f"pay-row-{failing.pk}")
        row.get_by_test_id(f"pay-open-{failing.pk}").click()
        row.get_by_label("拨付结果").select_option("failed")
        row.get_by_label("失败原因").fill("收款账户已销户")
        row.get_by_test_id(f"pay-submit-{failing.pk}").click()
        expect(fp.get_by_test_id(f"pay-row-{failing.pk}")).to_contain_text("拨付失败")
        expect(fp.get_by_test_id(f"pay-row-{failing.pk}")).to_contain_text(
            "收款账户已销户"
        )

        # The failure is listed on the finance page and re-issued from there.
        fp.locator("#main-nav").get_by_role("link", name="拨付管理").click()
        failed = fp.get_by_test_id(f"failed-{failing.pk}")
        expect(failed).to_contain_text("收款账户已销户")
        expect(fp.get_by_test_id("ready-rollups")).to_contain_text(QUARTER)
        screenshot(fp, "24-finance")
        failed.get_by_test_id(f"reissue-open-{failing.pk}").click()
        failed.get_by_label("凭证号").fill("CZ-2020-0002")
        failed.get_by_test_id(f"pay-submit-{failing.pk}").click()
        expect(fp.locator(".alert-success")).to_contain_text("（重新拨付）")
        expect(fp.get_by_test_id("failed-payments")).to_contain_text(
            "没有待处理的拨付失败"
        )
        assert reporting_services.payment_state(failing) == "paid"
        assert Payment.objects.filter(status="paid").count() == 2

        fp.get_by_test_id(f"open-rollup-{QUARTER}").click()
        expect(fp.get_by_test_id(f"pay-row-{failing.pk}")).to_contain_text("重新拨付")
        unpaid = Claim.objects.filter(
            status="approved", report__quarter=QUARTER, payments__isnull=True
        ).order_by("pk")[0]
        fp.get_by_test_id(f"pay-open-{unpaid.pk}").click()
        expect(fp.get_by_test_id(f"pay-form-{unpaid.pk}")).to_be_visible()
        screenshot(fp, "25-rollup-payments")
    finally:
        finance.close()

    # The public side: no login, the quarter's totals, no personal data.
    public = browser.new_context(**CONTEXT_ARGS)
    try:
        pp = public.new_page()
        pp.goto(f"{base}/accounts/login/")
        pp.get_by_test_id("public-link").click()
        expect(pp.get_by_test_id("total-amount")).to_have_text(f"{due:.2f}")
        expect(pp.get_by_test_id("total-person-times")).to_have_text("6")
        expect(pp.get_by_test_id("disclosure-by-unit")).to_contain_text("富蕴县")
        html = pp.content()
        assert not ID_NUMBER.search(html)
        assert "学员" not in html
        screenshot(pp, "26-public-disclosure")
        pp.get_by_role("link", name="补贴项目目录").click()
        expect(pp.get_by_test_id("program-catalogue")).to_contain_text("高级工")
        screenshot(pp, "27-public-programs")
        pp.get_by_role("link", name="培训机构目录").click()
        expect(pp.get_by_test_id("institution-catalogue")).to_contain_text(
            "富蕴县职业技能培训学校"
        )
        screenshot(pp, "28-public-institutions")
    finally:
        public.close()
