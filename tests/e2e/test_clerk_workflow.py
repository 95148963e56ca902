"""A clerk's day in a real browser: sign in, register a person, file a claim the rules
refuse, read the reason, correct it and submit it; another unit cannot open it."""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from decimal import Decimal

import pytest
from playwright.sync_api import Page, expect

from accounts.models import Role
from claims import services
from claims.models import Claim
from quarters import services as quarter_services
from tests.e2e.conftest import CONTEXT_ARGS
from tests.factories import (
    InstitutionFactory,
    TraineeFactory,
    UserFactory,
    make_id_number,
    send_to_prefecture,
)

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]

PASSWORD = "pw-Altay-2019"


@pytest.fixture
def office(db: object) -> dict[str, object]:
    """Two units' clerks, a reviewer, a school, and some claims already on file."""
    clerk = UserFactory(
        username="liming",
        first_name="李明",
        role=Role.COUNTY_CLERK,
        unit_id="654301",
    )
    other = UserFactory(
        username="wangfang",
        first_name="王芳",
        role=Role.COUNTY_CLERK,
        unit_id="654322",
    )
    reviewer = UserFactory(
        username="zhaojun", first_name="赵军", role=Role.PREFECTURE_REVIEWER
    )
    school = InstitutionFactory(name="阿勒泰市职业技能培训学校", unit_id="654301")
    school_b = InstitutionFactory(name="富蕴县就业培训中心", unit_id="654322")
    veteran = TraineeFactory(
        name="努尔兰",
        id_number=make_id_number(date(1988, 7, 9), serial=301),
        groups=["poor_labour"],
        job_seeking_unit_id="654322",  # 五(二): 富蕴县 may file for him too
    )
    base = services.ClaimInput(
        trainee_id=veteran.pk,
        program_id=9,
        institution_id=school_b.pk,
        unit_id="654322",
        training_start=date(2020, 3, 1),
        training_end=date(2020, 3, 31),
        amount_requested=Decimal("1800.00"),
        trade_id="4-03-02-01",
        level_id="intermediate",
        passed=True,
        certificate_number="FY-2020-0031",
        employment="employed",
    )
    elsewhere = services.claim_create(data=base, actor=other)
    services.claim_submit(claim_id=elsewhere.pk, actor=other)
    send_to_prefecture(elsewhere)
    mine = replace(base, institution_id=school.pk, unit_id="654301")
    returned = services.claim_create(
        data=replace(mine, trade_id="4-10-01-05", certificate_number="AL-0007"),
        actor=clerk,
    )
    services.claim_submit(claim_id=returned.pk, actor=clerk)
    send_to_prefecture(returned)  # reviewed only inside a submitted quarterly report
    quarter_services.claim_return(
        claim_id=returned.pk, actor=reviewer, reason="证书编号与花名册不一致，请核对"
    )
    services.claim_create(
        data=replace(mine, trade_id="4-07-05-01", employment="none"), actor=clerk
    )
    return {"clerk": clerk, "other": other, "veteran": veteran, "school": school}


def sign_in(page: Page, base_url: str, username: str) -> None:
    page.goto(f"{base_url}/accounts/login/")
    page.get_by_label("用户名").fill(username)
    page.get_by_label("密码").fill(PASSWORD)
    page.get_by_role("button", name="登录").click()
    expect(page.get_by_test_id("current-user")).to_be_visible()


def test_a_clerk_files_corrects_and_submits_a_claim(
    live_server, office, browser, page: Page, screenshot
):
    base = live_server.url

    # The login page, in Chinese.
    page.goto(f"{base}/accounts/login/")
    expect(page.get_by_role("heading", name="用户登录")).to_be_visible()
    screenshot(page, "01-login")
    sign_in(page, base, "liming")
    expect(page.get_by_test_id("current-user")).to_contain_text("李明")
    expect(page.get_by_test_id("current-user")).to_contain_text("阿勒泰市")
    expect(page.get_by_test_id("returned-claims")).to_contain_text(
        "证书编号与花名册不一致"
    )
    screenshot(page, "02-home")

    # A known person: their history across units, number masked.
    page.get_by_role("link", name="培训人员", exact=True).click()
    veteran = office["veteran"]
    page.get_by_test_id("id-input").fill(veteran.id_number)
    found = page.get_by_test_id("lookup-found")
    expect(found).to_contain_text(veteran.id_number_masked)
    expect(found).to_contain_text("富蕴县")
    expect(found).to_contain_text("中式烹调师")
    assert veteran.id_number not in found.inner_text()
    screenshot(page, "03-trainee-lookup-history")

    # A wrong check digit is explained as typed; then a new person is registered.
    number = make_id_number(date(1996, 11, 23), serial=417, sex="F")
    wrong = number[:17] + ("0" if number[17] != "0" else "1")
    page.get_by_test_id("id-input").fill(wrong)
    expect(page.get_by_test_id("id-error")).to_contain_text("校验位错误")
    page.get_by_test_id("id-input").fill(number)
    form = page.get_by_test_id("register-form")
    expect(form).to_be_visible()
    form.get_by_label("姓名").fill("古丽娜尔")
    form.get_by_label("农业户籍").check()
    form.get_by_label("建档立卡贫困劳动力").check()
    form.get_by_label("联系电话").fill("13999061234")
    screenshot(page, "03b-trainee-register")
    form.get_by_role("button", name="登记").click()
    expect(page.locator(".alert-success")).to_contain_text("已登记培训人员：古丽娜尔")

    # File a claim for her that the rules refuse: no employment (三(二)9).
    page.get_by_test_id("new-claim-for-trainee").click()
    expect(page.get_by_test_id("chosen-trainee")).to_contain_text("古丽娜尔")
    page.select_option("#id_program", "9")
    page.get_by_label("筛选职业(工种)").fill("烹调")
    page.select_option("#id_trade", "4-03-02-01")
    page.select_option("#id_level", "intermediate")
    page.select_option("#id_institution", str(office["school"].pk))
    page.fill("#id_training_start", "2020-09-01")
    page.fill("#id_training_end", "2020-10-30")
    page.check("#id_passed")
    page.fill("#id_certificate_number", "AL-2020-1123")
    page.select_option("#id_employment", "none")
    page.fill("#id_amount_requested", "1800")
    page.locator("#id_amount_requested").blur()
    decision = page.get_by_test_id("decision")
    expect(decision).to_have_attribute("data-eligible", "false")
    expect(decision).to_contain_text(
        "项目9只对实现就业（含自主创业、灵活就业）的人员给予补贴"
    )
    expect(decision).to_contain_text("三(二)9")
    screenshot(page, "04-claim-form-refused")

    # Trying to submit anyway keeps a draft and shows the reason (409).
    page.get_by_test_id("save-submit").click()
    expect(page.locator(".alert-danger")).to_contain_text(
        "申报不符合补贴条件，未能提交"
    )
    expect(page.get_by_test_id("decision")).to_contain_text("项目9只对实现就业")
    claim = Claim.objects.get(trainee__id_number=number)
    assert claim.status == "draft"

    # Correct it: she found a job. The panel turns eligible; then submit.
    page.select_option("#id_employment", "employed")
    expect(page.get_by_test_id("decision")).to_have_attribute("data-eligible", "true")
    expect(page.get_by_test_id("decision-amount")).to_contain_text("1800.00")
    screenshot(page, "05-claim-form-eligible")
    page.get_by_test_id("save-submit").click()
    expect(page.get_by_test_id("claim-status")).to_have_text("已提交")
    expect(page.get_by_test_id("events")).to_contain_text("提交")
    screenshot(page, "06-claim-page-history")
    claim.refresh_from_db()
    assert claim.status == "submitted"
    claim_url = page.url

    # The list, with masked numbers only.
    page.get_by_role("link", name="申报列表").first.click()
    table = page.get_by_test_id("claim-table")
    expect(table).to_contain_text("古丽娜尔")
    assert number not in page.content()
    screenshot(page, "07-claim-list")

    # A clerk of another unit opening that claim's address gets the 404 page.
    other = browser.new_context(**CONTEXT_ARGS)
    try:
        other_page = other.new_page()
        sign_in(other_page, base, "wangfang")
        response = other_page.goto(claim_url)
        assert response is not None and response.status == 404
        expect(other_page.get_by_test_id("not-found")).to_have_text(
            "未找到该页面或记录"
        )
        assert "古丽娜尔" not in other_page.content()
        screenshot(other_page, "08-not-found")
    finally:
        other.close()


def test_a_reviewer_sees_waiting_claims_by_unit_and_returns_one(
    live_server, office, page: Page, screenshot
):
    claim = Claim.objects.get(status="submitted")
    sign_in(page, live_server.url, "zhaojun")
    expect(page.get_by_test_id("waiting-by-unit")).to_contain_text("富蕴县")
    screenshot(page, "09-reviewer-home")
    page.get_by_test_id("waiting-by-unit").get_by_role("link", name="审核").click()
    expect(page.get_by_test_id("claim-table")).to_contain_text("努尔兰")
    page.get_by_role("link", name=f"#{claim.pk}").click()
    expect(page.get_by_test_id("review-panel")).to_be_visible()
    screenshot(page, "10-reviewer-claim")
    # A return without a reason is refused in Chinese before it is sent; with one
    # it goes back, and the reviewer is taken back to the claim's report.
    page.get_by_test_id("return").click()
    reason = page.get_by_label("审核意见")
    assert reason.evaluate("el => el.validationMessage") == "退回须填写理由"
    claim.refresh_from_db()
    assert claim.status == "submitted"
    reason.fill("请补充培训签到表")
    page.get_by_test_id("return").click()
    expect(page.locator(".alert-success")).to_contain_text("已退回经办人修改")
    claim.refresh_from_db()
    assert claim.status == "returned"
    page.goto(f"{live_server.url}/claims/{claim.pk}/")
    expect(page.get_by_test_id("claim-status")).to_have_text("已退回")
    expect(page.get_by_test_id("events")).to_contain_text("请补充培训签到表")
    # A reviewer never files claims: the form answers with the 403 page.
    response = page.goto(f"{live_server.url}/claims/new/")
    assert response is not None and response.status == 403
    expect(page.get_by_test_id("forbidden")).to_be_visible()
    expect(page.locator("main")).to_contain_text("只有县(市)经办人可以录入申报")
    screenshot(page, "11-forbidden")
    page.get_by_role("link", name="修改密码").click()
    expect(page.get_by_label("旧密码")).to_be_visible()
    screenshot(page, "12-password-change")
