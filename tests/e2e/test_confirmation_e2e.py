"""The trainee's "was this you?" on a phone (issue 17), in real Chromium under the
settings ``make run`` uses (DEBUG=1) and the production ones: one trainee confirms with
the last four characters of their ID number, another says "not me", which opens a
grievance; the page fits a phone's width and shows the masked ID number only. In each
of the three visitor languages (Chinese under both settings, Uyghur under DEBUG=1,
Kazakh under production): right to left in Uyghur and Kazakh (the computed
``direction``), the ID number and amount left to right; screenshots
``confirmation-<language>-…png``."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

from django.utils import translation

import pytest
from playwright.sync_api import Browser, Page, expect

from accounts.models import Role
from claims import services
from claims.confirmations import code_for
from claims.models import ConfirmationStatus, TraineeConfirmation, TraineeGrievance
from tests.factories import InstitutionFactory, TraineeFactory, UserFactory

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]
PHONE = {
    "viewport": {"width": 390, "height": 844},
    "is_mobile": True,
    "locale": "zh-CN",
}


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


def submitted_claims(count: int) -> list[Any]:
    clerk = UserFactory(role=Role.COUNTY_CLERK, unit_id="654301")
    school = InstitutionFactory(name="阿勒泰市职业技能培训学校", unit_id="654301")
    claims = []
    for _ in range(count):
        person = TraineeFactory(name="王小红", registered_by_unit_id="654301")
        claim = services.claim_create(
            data=services.ClaimInput(
                trainee_id=person.pk,
                program_id=9,
                institution_id=school.pk,
                unit_id="654301",
                training_start=date(2020, 3, 1),
                training_end=date(2020, 3, 31),
                amount_requested=Decimal("1800.00"),
                trade_id="4-03-02-01",
                level_id="intermediate",
                passed=True,
                certificate_number=f"CERT-{person.pk}",
                employment="employed",
            ),
            actor=clerk,
        )
        claims.append(services.claim_submit(claim_id=claim.pk, actor=clerk))
    return claims


def test_a_trainee_confirms_and_another_disputes_on_a_phone(
    live_server: Any,
    case: tuple[bool, str],
    browser: Browser,
    screenshot: Callable[[Page, str], Path],
) -> None:
    debug, language = case
    label = f"{language}-{'debug' if debug else 'production'}"
    direction = "ltr" if language == "zh-hans" else "rtl"
    confirming, disputing = submitted_claims(2)
    errors: list[str] = []
    for claim, button, kind in (
        (confirming, "是我本人参加", "confirmed"),
        (disputing, "我没有参加此培训", "disputed"),
    ):
        context = browser.new_context(**PHONE)
        page = context.new_page()
        page.on(
            "console", lambda m: errors.append(m.text) if m.type == "error" else None
        )
        code = code_for(TraineeConfirmation.objects.get(claim_id=claim.pk))
        page.goto(f"{live_server.url}/t/{code}/?lang={language}")
        assert (
            page.evaluate("getComputedStyle(document.documentElement).direction")
            == direction
        )
        expect(page.get_by_role("heading", level=1)).to_have_text(
            t(language, "培训信息核对")
        )
        facts = page.get_by_test_id("confirmation-facts")
        expect(facts).to_contain_text(claim.trainee.id_number[:6] + "*" * 12)
        expect(facts).to_contain_text("1800.00")
        figures = facts.locator("bdi")
        assert all(
            d == "ltr"
            for d in figures.evaluate_all(
                "es => es.map(e => getComputedStyle(e).direction)"
            )
        )
        assert claim.trainee.id_number not in page.content()
        assert "王小红" not in page.content()
        wide = page.evaluate("document.documentElement.scrollWidth")
        assert wide <= 390, f"the page is {wide}px wide on a 390px phone"
        if kind == "confirmed":
            screenshot(page, f"confirmation-{label}-form")
        page.get_by_label(t(language, "请输入您身份证号码的后四位")).fill(
            claim.trainee.id_number[-4:]
        )
        page.get_by_role("button", name=t(language, button)).click()
        expect(page.get_by_test_id("confirmation-done")).to_be_visible()
        assert (
            page.evaluate("getComputedStyle(document.documentElement).direction")
            == direction
        )
        wide = page.evaluate("document.documentElement.scrollWidth")
        assert wide <= 390, f"the answered page is {wide}px wide on a 390px phone"
        screenshot(page, f"confirmation-{label}-{kind}")
        if kind == "confirmed":
            # opened again after a "yes": the answer shown, and "not me" still
            # offered (whoever held the code may have answered for the trainee)
            page.goto(f"{live_server.url}/t/{code}/?lang={language}")
            expect(page.get_by_test_id("confirmation-status")).to_be_visible()
            expect(page.get_by_test_id("confirmation-dispute-note")).to_be_visible()
            expect(page.get_by_test_id("answer-disputed")).to_be_visible()
            expect(page.get_by_test_id("answer-confirmed")).to_have_count(0)
            wide = page.evaluate("document.documentElement.scrollWidth")
            assert wide <= 390, f"the page after a yes is {wide}px wide"
            screenshot(page, f"confirmation-{label}-after-yes")
        assert errors == []
        context.close()
    statuses = dict(TraineeConfirmation.objects.values_list("claim_id", "status"))
    assert statuses[confirming.pk] == ConfirmationStatus.CONFIRMED
    assert statuses[disputing.pk] == ConfirmationStatus.DISPUTED
    assert TraineeGrievance.objects.filter(claim_id=disputing.pk).exists()
