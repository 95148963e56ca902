"""Finance in Chromium is refused a balance while the claim's public notice is open and
while its trainee's "not me" waits for the unit's finding, and pays it once each has
closed (issue 17), under the settings ``make run`` uses (DEBUG=1) and the production
ones: the hold is told in the claim's row of the rollup page before anything is typed
(no form is offered while it holds), nothing is recorded, and the form pays once the
hold is gone."""

from __future__ import annotations

from typing import Any

from django.utils import timezone

import pytest
from playwright.sync_api import Page, expect

from claims.confirmations import code_for, confirmation_answer, grievance_find
from claims.models import Claim, TraineeConfirmation, TraineeGrievance
from finance import services as finance_services
from finance.models import Payment, Rollup
from quarters.models import PublicNotice
from tests.e2e.test_quarter_journey import sign_in
from tests.factories import UserFactory
from tests.quarter_run import run_quarter

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.public_notice,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]


@pytest.fixture(params=[True, False], ids=["DEBUG=1", "DEBUG=0"])
def debug(request: pytest.FixtureRequest, settings: Any) -> bool:
    settings.DEBUG = request.param
    return bool(request.param)


@pytest.fixture
def held(
    claim_input: Any,
    reviewer: Any,
    settings: Any,
    tmp_path: Any,
    django_capture_on_commit_callbacks: Any,
) -> dict[str, Any]:
    """The 2020Q1 quarter decided and rolled up today: its reports' notices still open,
    and one trainee of 富蕴县 has answered "not me"."""
    settings.MEDIA_ROOT = tmp_path
    quarter = run_quarter(claim_input, reviewer)
    with django_capture_on_commit_callbacks(execute=True):
        finance_services.rollup_request(quarter="2020Q1", actor=reviewer)
    # claims of 富蕴县 (not a class's: a class's dispute holds the whole class)
    own = [c for c in quarter.approved if c.unit_id == "654322"]
    on_notice, disputed = own[0], own[1]
    confirmation = TraineeConfirmation.objects.get(claim=disputed)
    confirmation_answer(
        code=code_for(confirmation),
        answer="disputed",
        id_last4=disputed.trainee.id_number[-4:],
    )
    return {
        "rollup": Rollup.objects.get(quarter="2020Q1"),
        "on_notice": on_notice,
        "disputed": disputed,
        # a clerk of the unit who did not make the claim (maker ≠ checker, issue 12)
        "clerk": UserFactory(username="zhaoliu", role="county_clerk", unit_id="654322"),
        "finance": UserFactory(username="qianli", role="finance_officer"),
    }


def pay_in_row(page: Page, claim: Claim) -> None:
    row = page.get_by_test_id(f"pay-row-{claim.pk}")
    row.get_by_test_id(f"pay-open-{claim.pk}").click()
    row.get_by_label("凭证号").fill(f"CZ-{claim.pk}")
    row.get_by_test_id(f"pay-submit-{claim.pk}").click()


def test_finance_waits_for_the_notice_and_for_the_trainees_finding(
    live_server: Any, page: Page, held: dict[str, Any], debug: bool
) -> None:
    on_notice, disputed = held["on_notice"], held["disputed"]
    rollup_page = f"{live_server.url}/rollups/{held['rollup'].pk}/"
    sign_in(page, live_server.url, "qianli")
    page.goto(rollup_page)

    # while the notice is open: the row says so, and offers no form to type in vain
    expect(page.get_by_test_id(f"pay-held-{on_notice.pk}")).to_contain_text(
        "公示期满后方可拨付余额"
    )
    expect(page.get_by_test_id(f"pay-open-{on_notice.pk}")).to_have_count(0)
    # the trainee's "not me" is told first, whatever the notice
    expect(page.get_by_test_id(f"pay-held-{disputed.pk}")).to_contain_text(
        "培训人员本人表示未参加此培训"
    )
    assert not Payment.objects.filter(kind="balance").exists()

    # when the notices close: the claim on notice is paid, the disputed one still held
    PublicNotice.objects.update(closes_on=timezone.localdate())
    page.goto(rollup_page)
    pay_in_row(page, on_notice)
    expect(page.get_by_test_id(f"pay-row-{on_notice.pk}")).to_contain_text(
        f"已拨付（CZ-{on_notice.pk}）"
    )
    expect(page.get_by_test_id(f"pay-held-{disputed.pk}")).to_contain_text(
        "申诉核查结论录入前不能拨付余额"
    )

    # when the unit finds the trainee did attend: paid
    grievance_find(
        grievance_id=TraineeGrievance.objects.get(claim=disputed).pk,
        outcome="dismissed",
        reason="经核实签到表与本人签名一致，本人确已参加培训",
        actor=held["clerk"],
    )
    page.goto(rollup_page)
    pay_in_row(page, disputed)
    expect(page.get_by_test_id(f"pay-row-{disputed.pk}")).to_contain_text(
        f"已拨付（CZ-{disputed.pk}）"
    )
    paid = Payment.objects.filter(kind="balance", status="paid")
    assert set(paid.values_list("claim_id", flat=True)) == {on_notice.pk, disputed.pk}
