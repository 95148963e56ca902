"""A reviewer decides a report holding a warned claim (issue 15, 6 and 8), in Chromium,
under the settings ``make run`` uses (DEBUG=1) and the production ones (DEBUG=0): the
warning beside the claim on the report and on its page; a reject without a reason
refused before any dialog; a decision from the report back at the report's next claim;
approve-all that stops at a list naming the warned claim, and approves once confirmed.
"""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from playwright.sync_api import Dialog, Page, expect

from accounts.models import Role
from claims import services
from claims.models import Claim
from quarters import services as quarter_services
from tests.factories import (
    InstitutionFactory,
    TraineeFactory,
    UserFactory,
    clear_spot_checks,
)

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]

PASSWORD = "pw-Altay-2019"
TRADES = ["4-03-02-01", "4-07-05-01", "4-10-01-05"]


@pytest.fixture(params=[True, False], ids=["DEBUG=1", "DEBUG=0"])
def debug(request: pytest.FixtureRequest, settings: Any) -> bool:
    """pytest-django forces DEBUG off; ``make run`` has it on: both are walked."""
    settings.DEBUG = request.param
    return bool(request.param)


@pytest.fixture
def warned_report(db: object, settings: Any, tmp_path: Any) -> dict[str, Any]:
    """富蕴县's submitted 2020Q1 report of three claims; the third carries the first's
    certificate number (certificate_reused on both)."""
    settings.MEDIA_ROOT = tmp_path
    reviewer = UserFactory(
        username="zhaojun", first_name="赵军", role=Role.PREFECTURE_REVIEWER
    )
    clerk = UserFactory(
        username="wangfang", first_name="王芳", role=Role.COUNTY_CLERK, unit_id="654322"
    )
    school = InstitutionFactory(name="富蕴县职业技能培训学校", unit_id="654322")
    numbers = ["FY-2020-001", "FY-2020-002", "fy-2020-001"]
    for n, number in enumerate(numbers):
        person = TraineeFactory(
            name=["努尔兰", "古丽娜尔", "别克"][n],
            groups=["poor_labour"],
            registered_by_unit_id="654322",
        )
        draft = services.claim_create(
            data=services.ClaimInput(
                trainee_id=person.pk,
                program_id=9,
                institution_id=school.pk,
                unit_id="654322",
                training_start=date(2020, 3, 1),
                training_end=date(2020, 3, 31),
                amount_requested=Decimal("1800.00"),
                trade_id=TRADES[n],
                level_id="intermediate",
                passed=True,
                certificate_number=number,
                employment="employed",
            ),
            actor=clerk,
        )
        services.claim_submit(claim_id=draft.pk, actor=clerk)
    report = quarter_services.report_build(
        unit_id="654322", quarter="2020Q1", actor=clerk
    )
    report = quarter_services.report_submit(report_id=report.pk, actor=clerk)
    clear_spot_checks(report, reviewer)  # drawn before any approval (五(一))
    return {"report": report, "claims": list(report.claims.order_by("pk"))}


def sign_in(page: Page, base_url: str, username: str) -> None:
    page.goto(f"{base_url}/accounts/login/")
    page.get_by_label("用户名").fill(username)
    page.get_by_label("密码").fill(PASSWORD)
    page.get_by_role("button", name="登录").click()
    expect(page.get_by_test_id("current-user")).to_be_visible()


def test_a_reviewer_decides_a_report_holding_a_warned_claim(
    debug, live_server, warned_report, page: Page, screenshot
):
    mode = "debug" if debug else "prod"
    base = live_server.url
    report = warned_report["report"]
    first, plain, copied = warned_report["claims"]
    dialogs: list[str] = []
    errors: list[str] = []

    def answer(dialog: Dialog) -> None:
        dialogs.append(dialog.message)
        dialog.accept()

    page.on("dialog", answer)
    failed: list[tuple[int, str]] = []
    # script errors; a failed load shows as a console error too, and is told apart
    # by its response below
    page.on(
        "console",
        lambda m: (
            errors.append(m.text)
            if m.type == "error" and not m.text.startswith("Failed to load resource")
            else None
        ),
    )
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on(
        "response",
        lambda r: failed.append((r.status, r.url)) if r.status >= 400 else None,
    )

    # The report: the warned claims carry a mark, and the warning beside them.
    sign_in(page, base, "zhaojun")
    page.goto(f"{base}/reports/{report.pk}/")
    expect(page.get_by_test_id(f"warned-{copied.pk}")).to_be_visible()
    expect(page.get_by_test_id(f"warned-{plain.pk}")).to_have_count(0)
    beside = page.locator(f'tr[data-warnings-of="{copied.pk}"]')
    expect(beside).to_contain_text("证书编号重复")
    expect(beside.get_by_role("link", name=f"#{first.pk}")).to_be_visible()
    screenshot(page, f"40-{mode}-report-with-warned-claim")

    # The warned claim's page shows it beside the decision; a reject without a
    # reason is refused at the field, before any dialog, and nothing is sent.
    page.get_by_role("link", name=f"#{copied.pk}", exact=True).first.click()
    expect(page.get_by_test_id("warnings")).to_contain_text("证书编号重复")
    expect(page.get_by_test_id("warning-count")).to_contain_text("1 项提示")
    page.get_by_test_id("reject").click()
    reason = page.get_by_label("审核意见")
    assert reason.evaluate("el => el.validationMessage") == "驳回须填写理由"
    assert dialogs == []
    expect(page).to_have_url(re.compile(rf"/claims/{copied.pk}/$"))
    screenshot(page, f"41-{mode}-warned-claim-page")

    # Approving the plain claim from its page goes back to the report, at the next
    # claim to decide.
    page.goto(f"{base}/claims/{plain.pk}/")
    page.get_by_test_id("approve").click()
    expect(page).to_have_url(re.compile(rf"/reports/{report.pk}/#claim-{copied.pk}$"))
    expect(page.locator(".alert-success")).to_contain_text(
        f"申报#{plain.pk}已核准。下一笔待审核：申报#{copied.pk}"
    )

    # Approve-all asks (naming the warned claims), then stops at the list to confirm.
    page.get_by_test_id("approve-all").click()
    assert f"申报#{copied.pk}" in dialogs[-1] and f"申报#{first.pk}" in dialogs[-1]
    confirm = page.get_by_test_id("confirm-warnings")
    expect(confirm).to_be_visible()
    expect(confirm.locator(f'[data-claim="{copied.pk}"]')).to_contain_text(
        "证书编号重复"
    )
    expect(confirm.locator(f'[data-claim="{first.pk}"]')).to_be_visible()
    assert Claim.objects.filter(status="approved").count() == 1
    confirm.scroll_into_view_if_needed()
    screenshot(page, f"42-{mode}-bulk-asks-to-confirm")

    # Confirmed: the whole selection is approved.
    page.get_by_test_id("confirm-approve").click()
    expect(page.locator(".alert-success")).to_contain_text("已核准2笔申报")
    assert set(Claim.objects.values_list("status", flat=True)) == {"approved"}
    screenshot(page, f"43-{mode}-report-approved")
    assert errors == []
    # the one refusal is the unconfirmed approval (409, as the API answers it);
    # /favicon.ico is issue 15 item 12's, not this page's
    approve_url = f"{base}/reports/{report.pk}/approve/"
    assert [f for f in failed if not f[1].endswith("/favicon.ico")] == [
        (409, approve_url)
    ]
