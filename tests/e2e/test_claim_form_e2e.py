"""The county clerk's claim form in a real browser (issue 15, items 1, 3, 4 and 10),
under the settings ``make run`` uses (DEBUG=1) and the production ones: a valid claim
in at most 12 actions; a number nobody has registered, registered in place; a refused
submit that stays on the form with one draft; 删除草稿; the panel on a phone."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from playwright.sync_api import Browser, Dialog, Page, expect

from accounts.models import Role
from claims.models import Claim, ClaimEvent
from tests.e2e.conftest import CONTEXT_ARGS, SCREENSHOTS
from tests.factories import (
    InstitutionFactory,
    TraineeFactory,
    UserFactory,
    make_id_number,
)
from trainees.models import Trainee

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]

PASSWORD = "pw-Altay-2019"


@pytest.fixture(params=[True, False], ids=["DEBUG=1", "DEBUG=0"])
def debug(request: pytest.FixtureRequest, settings: Any) -> bool:
    settings.DEBUG = request.param
    return bool(request.param)


@pytest.fixture
def desk(db: object) -> dict[str, Any]:
    UserFactory(
        username="liming", first_name="李明", role=Role.COUNTY_CLERK, unit_id="654301"
    )
    school = InstitutionFactory(name="阿勒泰市职业技能培训学校", unit_id="654301")
    person = TraineeFactory(
        name="努尔兰",
        id_number=make_id_number(date(1988, 7, 9), serial=301),
        groups=["poor_labour"],
        registered_by_unit_id="654301",
    )
    return {"school": school, "person": person}


class Actions:
    """Counts what the clerk does: every click, fill, choice and tick."""

    def __init__(self, page: Page) -> None:
        self.page, self.count = page, 0

    def click(self, locator: Any) -> None:
        self.count += 1
        locator.click()

    def fill(self, selector: str, value: str) -> None:
        self.count += 1
        self.page.fill(selector, value)

    def choose(self, selector: str, value: str) -> None:
        self.count += 1
        self.page.select_option(selector, value)


def sign_in(page: Page, base_url: str) -> None:
    page.goto(f"{base_url}/accounts/login/")
    page.get_by_label("用户名").fill("liming")
    page.get_by_label("密码").fill(PASSWORD)
    page.get_by_role("button", name="登录").click()
    expect(page.get_by_test_id("current-user")).to_be_attached()  # folded on a phone


def fill_claim(act: Actions, school_pk: int, *, employment: str) -> None:
    """Program 9, 中式烹调师 · 四级, the desk's school, with a certificate."""
    act.choose("#id_program", "9")
    act.choose("#id_trade", "4-03-02-01")
    act.choose("#id_level", "intermediate")
    act.choose("#id_institution", str(school_pk))
    act.fill("#id_training_start", "2020-09-01")
    act.fill("#id_training_end", "2020-10-30")
    act.fill("#id_certificate_number", "AL-2020-1123")  # ticks 培训合格
    act.choose("#id_employment", employment)
    act.fill("#id_amount_requested", "1800")


def test_a_valid_claim_is_filed_and_submitted_in_twelve_actions(
    live_server: Any, debug: bool, desk: dict[str, Any], page: Page, screenshot: Any
) -> None:
    sign_in(page, live_server.url)
    act = Actions(page)
    act.click(page.locator("#main-nav").get_by_role("link", name="新建申报"))
    act.fill("#id_id_number", desk["person"].id_number)
    expect(page.get_by_test_id("trainee-summary")).to_contain_text("努尔兰")
    fill_claim(act, desk["school"].pk, employment="employed")
    expect(page.locator("#id_passed")).to_be_checked()
    decision = page.get_by_test_id("decision")
    expect(decision).to_have_attribute("data-eligible", "true")
    screenshot(page, f"15-10-claim-eligible-debug{int(debug)}")
    act.click(page.get_by_test_id("save-submit"))
    expect(page.get_by_test_id("claim-status")).to_have_text("已提交")
    assert act.count <= 12, act.count
    claim = Claim.objects.get()
    assert claim.status == "submitted" and claim.trainee == desk["person"]


def test_a_number_nobody_registered_is_registered_in_place(
    live_server: Any, debug: bool, desk: dict[str, Any], page: Page, screenshot: Any
) -> None:
    number = make_id_number(date(1996, 11, 23), serial=417, sex="F")
    sign_in(page, live_server.url)
    page.goto(f"{live_server.url}/claims/new/")
    # given: the claim typed first, then a number nobody has registered
    act = Actions(page)
    fill_claim(act, desk["school"].pk, employment="employed")
    page.fill("#id_id_number", number)
    place = page.get_by_test_id("register-in-place")
    expect(place).to_contain_text("该身份证号码尚未登记")
    expect(page.get_by_test_id("decision-pending")).to_contain_text("尚未登记")
    # when: registered in place
    place.get_by_label("姓名").fill("古丽娜尔")
    place.get_by_label("农业户籍").check()
    place.get_by_label("建档立卡贫困劳动力").check()
    screenshot(page, f"15-11-register-in-place-debug{int(debug)}")
    place.get_by_test_id("register-and-continue").click()
    # then: she is chosen, nothing typed is lost, and the panel judges the claim
    expect(page.get_by_test_id("chosen-trainee")).to_contain_text("古丽娜尔")
    expect(page.locator("#id_certificate_number")).to_have_value("AL-2020-1123")
    expect(page.locator("#id_amount_requested")).to_have_value("1800")
    expect(page.get_by_test_id("decision")).to_have_attribute("data-eligible", "true")
    expect(page.locator("header.app-header")).to_be_visible()
    person = Trainee.objects.get(id_number=number)
    assert person.name == "古丽娜尔" and person.groups == ["poor_labour"]
    page.get_by_test_id("save-submit").click()
    expect(page.get_by_test_id("claim-status")).to_have_text("已提交")
    assert Claim.objects.get().trainee == person


def test_a_refused_submit_stays_on_the_form_with_one_draft_then_is_deleted(
    live_server: Any, debug: bool, desk: dict[str, Any], page: Page, screenshot: Any
) -> None:
    def accept(dialog: Dialog) -> None:
        dialog.accept()

    page.on("dialog", accept)
    sign_in(page, live_server.url)
    page.goto(f"{live_server.url}/claims/new/")
    act = Actions(page)
    act.fill("#id_id_number", desk["person"].id_number)
    fill_claim(act, desk["school"].pk, employment="none")
    expect(page.get_by_test_id("decision")).to_have_attribute("data-eligible", "false")
    # when: submitted three times as it stands (and once reloaded)
    for _ in range(3):
        page.get_by_test_id("save-submit").click()
        expect(page.locator(".alert-danger")).to_contain_text(
            "申报不符合补贴条件，未能提交"
        )
        expect(page.get_by_test_id("decision")).to_contain_text("项目9只对实现就业")
        expect(page.locator("#claim-form")).to_be_visible()
    screenshot(page, f"15-12-refused-stays-debug{int(debug)}")
    # then: one draft, kept with the reasons
    claim = Claim.objects.get()
    assert claim.status == "draft" and not claim.eligible
    assert ClaimEvent.objects.filter(claim=claim, action="create").count() == 1
    # 删除草稿 from the form: gone from the list, the trail kept
    page.get_by_test_id("delete-draft").click()
    expect(page.locator(".alert-success")).to_contain_text(f"草稿#{claim.pk}已删除")
    assert not Claim.objects.exists()
    assert Claim.all_rows.get(pk=claim.pk).status == "deleted"
    assert ClaimEvent.objects.filter(claim_id=claim.pk, action="delete").exists()


@pytest.mark.parametrize(
    ("width", "height"), [(390, 844), (1366, 768)], ids=["phone", "laptop"]
)
def test_the_panel_sits_where_the_form_says(
    live_server: Any,
    debug: bool,
    desk: dict[str, Any],
    browser: Browser,
    width: int,
    height: int,
) -> None:
    context = browser.new_context(
        **{**CONTEXT_ARGS, "viewport": {"width": width, "height": height}}
    )
    try:
        page = context.new_page()
        sign_in(page, live_server.url)
        page.goto(f"{live_server.url}/claims/new/")
        page.fill("#id_id_number", desk["person"].id_number)
        page.select_option("#id_program", "9")
        expect(page.get_by_test_id("decision-pending")).to_contain_text("尚未填写")
        panel = page.get_by_test_id("decision-panel-box").bounding_box()
        buttons = page.get_by_test_id("claim-form-buttons").bounding_box()
        form = page.locator("#claim-form").bounding_box()
        program = page.locator("#id_program").bounding_box()
        assert panel and buttons and form and program
        subtitle = page.locator(".page-subtitle").inner_text()
        if width < 992:
            # the text says "below the form, above the save buttons", and so it is
            assert "表单下方、保存按钮上方" in subtitle and "右侧" not in subtitle
            assert form["y"] + form["height"] <= panel["y"] < buttons["y"]
        else:
            assert "右侧" in subtitle
            assert panel["x"] > form["x"] + form["width"] - 1
        # the program select fits the screen; on a phone its full name is spelled out
        if width < 992:
            expect(page.get_by_test_id("program-chosen")).to_contain_text(
                "实施就业重点群体免费职业技能培训"
            )
        assert program["x"] >= 0 and program["x"] + program["width"] <= width
        page.evaluate("window.scrollTo(0, 0)")
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(
            path=str(
                SCREENSHOTS / f"15-13-claim-form-{width}x{height}-debug{int(debug)}.png"
            ),
            full_page=True,
        )
    finally:
        context.close()


@pytest.mark.parametrize("width", [992, 1024, 1199, 1200, 1280, 1366])
def test_the_clerks_menu_fits_beside_the_name_and_logout(
    live_server: Any, desk: dict[str, Any], page: Page, width: int
) -> None:
    """The new-user review: between 992 and 1216 px the clerk's eight menu items and
    the system's full name pushed 退出 off the page, which scrolled sideways."""
    page.set_viewport_size({"width": width, "height": 700})
    sign_in(page, live_server.url)
    logout = page.get_by_role("button", name="退出")
    expect(logout).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    box = logout.bounding_box()
    assert box is not None and box["x"] + box["width"] <= width
    expect(page.get_by_test_id("brand")).to_have_attribute(
        "title", "阿勒泰地区职业技能提升补贴管理系统"
    )
