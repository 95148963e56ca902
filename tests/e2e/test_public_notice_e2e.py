"""The public notice of a quarter and an objection lodged and found (issue 17), in
Chromium, under the settings ``make run`` uses (DEBUG=1) and the production ones
(DEBUG=0), in each of the three visitor languages (Chinese under both settings, Uyghur
under DEBUG=1, Kazakh under production): the list, the notice's masked lines, the
objection form with its challenge (a picture drawn by this server), the reference code,
and the outcome once the reviewer has recorded the finding. In Uyghur and Kazakh the
page reads right to left (the computed ``direction``) and the screenshots
``public-notice-<language>-…png`` show it."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

from django.utils import translation

import pytest
from captcha.models import CaptchaStore
from playwright.sync_api import Page, expect

from accounts.models import Role
from claims import services
from quarters import services as quarter_services
from quarters.models import Objection
from tests.factories import InstitutionFactory, TraineeFactory, UserFactory

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.public_notice,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]

NAMES = ["努尔兰", "古丽娜尔"]


#: (DEBUG, language): each language once, Chinese under both settings.
CASES = [(True, "zh-hans"), (False, "zh-hans"), (True, "ug"), (False, "kk-arab")]


@pytest.fixture(params=CASES, ids=[f"DEBUG={int(d)}-{lang}" for d, lang in CASES])
def case(request: pytest.FixtureRequest, settings: Any) -> tuple[bool, str]:
    settings.DEBUG = request.param[0]
    return request.param


def t(language: str, message: str) -> str:
    """What the page shows for ``message`` in ``language``."""
    with translation.override(language):
        return translation.gettext(message)


def direction_of(page: Page) -> str:
    return str(page.evaluate("getComputedStyle(document.documentElement).direction"))


@pytest.fixture
def noticed(db: object) -> dict[str, Any]:
    """富蕴县's 2020Q1 report of two claims, submitted today: on notice."""
    reviewer = UserFactory(username="zhaojun", role=Role.PREFECTURE_REVIEWER)
    clerk = UserFactory(username="wangfang", role=Role.COUNTY_CLERK, unit_id="654322")
    school = InstitutionFactory(name="富蕴县职业技能培训学校", unit_id="654322")
    people = []
    for name in NAMES:
        person = TraineeFactory(name=name, registered_by_unit_id="654322")
        people.append(person)
        draft = services.claim_create(
            data=services.ClaimInput(
                trainee_id=person.pk,
                program_id=9,
                institution_id=school.pk,
                unit_id="654322",
                training_start=date(2020, 3, 1),
                training_end=date(2020, 3, 31),
                amount_requested=Decimal("1800.00"),
                trade_id="4-03-02-01",
                level_id="intermediate",
                passed=True,
                certificate_number=f"FY-{person.pk}",
                employment="employed",
            ),
            actor=clerk,
        )
        services.claim_submit(claim_id=draft.pk, actor=clerk)
    report = quarter_services.report_build(
        unit_id="654322", quarter="2020Q1", actor=clerk
    )
    report = quarter_services.report_submit(report_id=report.pk, actor=clerk)
    return {"report": report, "people": people, "reviewer": reviewer}


def test_the_public_reads_the_notice_and_lodges_an_objection(
    case: tuple[bool, str],
    noticed: dict[str, Any],
    live_server: Any,
    page: Page,
    screenshot: Callable[[Page, str], Path],
) -> None:
    debug, language = case
    label = f"{language}-{'debug' if debug else 'production'}"
    rtl = language != "zh-hans"
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.goto(f"{live_server.url}/public/notices/?lang={language}")
    assert direction_of(page) == ("rtl" if rtl else "ltr")
    open_notices = page.get_by_test_id("open-notices")
    expect(open_notices).to_contain_text(
        "富蕴县" if language == "zh-hans" else "2020Q1"
    )
    open_notices.get_by_role("link", name=t(language, "查看")).click()
    assert direction_of(page) == ("rtl" if rtl else "ltr")
    lines = page.get_by_test_id("notice-lines")
    expect(lines).to_contain_text("努*兰")
    expect(lines).to_contain_text("古**尔")
    expect(page.get_by_role("heading", level=1)).to_contain_text(
        t(language, "补贴对象公示")
    )
    text = page.inner_text("body")
    for person in noticed["people"]:
        assert person.name not in text
        assert person.id_number not in text
    assert f"{person.id_number[:6]}********{person.id_number[-4:]}" in text
    if rtl:  # the masked ID number stays left to right inside the mirrored table
        cell = page.locator("td.id-number").first
        assert cell.evaluate("e => getComputedStyle(e).direction") == "ltr"
    screenshot(page, f"public-notice-{label}")
    lines.get_by_role("link", name=t(language, "提出异议")).first.click()
    assert direction_of(page) == ("rtl" if rtl else "ltr")
    form = page.get_by_test_id("objection-form")
    picture = form.locator("img.captcha")
    expect(picture).to_be_visible()
    assert picture.get_attribute("alt") == t(language, "验证码图片：请输入图中的字符")
    page.fill("#id_text", "培训期间本人在外地务工，未参加培训")
    key = page.input_value("input[name=challenge_0]")
    page.fill("input[name=challenge_1]", CaptchaStore.objects.get(hashkey=key).response)
    screenshot(page, f"public-objection-form-{label}")
    form.get_by_role("button", name=t(language, "提交异议")).click()
    reference = page.get_by_test_id("objection-reference").inner_text()
    objection = Objection.objects.get(reference=reference)
    page.get_by_role("link", name=t(language, "查询核查结果")).click()
    assert direction_of(page) == ("rtl" if rtl else "ltr")
    expect(page.get_by_test_id("objection-status")).to_have_text(t(language, "待核查"))
    quarter_services.objection_find(
        objection_id=objection.pk,
        outcome="dismissed",
        reason="经核对签到表和照片，本人确已参训",
        actor=noticed["reviewer"],
    )
    page.reload()
    expect(page.get_by_test_id("objection-status")).to_have_text(
        t(language, "异议不成立")
    )
    expect(page.get_by_test_id("objection-outcome")).to_contain_text("本人确已参训")
    screenshot(page, f"public-objection-outcome-{label}")
    assert errors == []
