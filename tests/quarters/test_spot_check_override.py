"""Approval after a failed spot check (issue 12, 5).

Observed on main: a spot check recorded ``inconsistent`` (材料不符); the claim was then
approved → 200 and paid from the workbook. Now an inconsistent finding blocks the
approval (409 ``spot_check_inconsistent``): the reviewer rejects or returns the claim,
or approves it through an explicit override with its own reason
(``spot_check_override_reason``), kept on the approval's event and listed for the
auditor. An ordinary comment, or the budget's reason, never overrides; the bulk
approval refuses such a claim, naming it; a recorded result is not recorded again.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest
from rest_framework.test import APIClient

from accounts.models import User
from claims import services
from claims.models import Claim, ClaimEvent
from claims.services import ClaimInput
from quarters import services as quarter_services
from quarters.models import QuarterlyReport, SpotCheck
from tests.factories import TraineeFactory, opened_evidence

pytestmark = pytest.mark.django_db

NOTE = "签到表缺2天，培训照片与名单不符"
OVERRIDE = "经实地复核，学员确已参训，签到表缺页已补正（复核记录见附件）"


def api(user: User) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


@pytest.fixture
def found(
    clerk: User, reviewer: User, claim_input: Callable[..., ClaimInput]
) -> tuple[Claim, Claim, QuarterlyReport]:
    """Two claims of a submitted report, both sampled: the first found inconsistent,
    the second consistent."""
    claims = []
    for _ in range(2):
        draft = services.claim_create(
            data=claim_input(trainee_id=TraineeFactory().pk), actor=clerk
        )
        claims.append(services.claim_submit(claim_id=draft.pk, actor=clerk))
    report = quarter_services.report_build(
        unit_id="654301", quarter="2020Q1", actor=clerk
    )
    report = quarter_services.report_submit(report_id=report.pk, actor=clerk)
    quarter_services.report_draw_spot_checks(
        report_id=report.pk, actor=reviewer, share=Decimal("1")
    )
    bad, good = claims
    for claim, result, note in ((bad, "inconsistent", NOTE), (good, "consistent", "")):
        check = SpotCheck.objects.get(claim=claim).pk
        quarter_services.spot_check_record(
            spot_check_id=check,
            actor=reviewer,
            result=result,
            note=note,
            documents=opened_evidence(check, reviewer)
            if result == "consistent"
            else (),
        )
    return bad, good, report


def approve(user: User, claim: Claim, **body: Any) -> Any:
    return api(user).post(f"/api/claims/{claim.pk}/approve/", body, format="json")


# --- The observation -------------------------------------------------------------
def test_an_inconsistent_spot_check_blocks_the_approval(found, reviewer):
    bad, _, _ = found

    response = approve(reviewer, bad)

    assert response.status_code == 409
    assert response.json()["code"] == "spot_check_inconsistent"
    assert "材料不符" in response.json()["message"]
    # where to write the reason, in the page's words (the review of session 25 found
    # the API's field name in the reviewer's message)
    assert "“抽查不符仍予核准的理由”一栏" in response.json()["message"]
    assert not any("a" <= ch.lower() <= "z" for ch in response.json()["message"])
    bad.refresh_from_db()
    assert (bad.status, bad.approved_amount, bad.reviewed_by_id) == (
        "submitted",
        None,
        None,
    )
    assert not ClaimEvent.objects.filter(claim=bad, action="approve").exists()


@pytest.mark.parametrize(
    "body",
    [
        {"reason": "同意"},
        {"reason": OVERRIDE},
        {"budget_override_reason": OVERRIDE},
        {"spot_check_override_reason": "   "},
    ],
    ids=["comment", "long comment", "budget reason", "blank override"],
)
def test_an_ordinary_comment_never_overrides(found, reviewer, body):
    bad, _, _ = found

    response = approve(reviewer, bad, **body)

    assert response.status_code == 409
    assert response.json()["code"] == "spot_check_inconsistent"
    assert Claim.objects.get(pk=bad.pk).status == "submitted"


@pytest.mark.parametrize("action", ["reject", "return"])
def test_the_reviewer_may_reject_or_return_it(found, reviewer, action):
    bad, _, _ = found

    response = api(reviewer).post(
        f"/api/claims/{bad.pk}/{action}/", {"reason": NOTE}, format="json"
    )

    assert response.status_code == 200
    assert (
        response.json()["status"]
        == {"reject": "rejected", "return": "returned"}[action]
    )


def test_the_override_approves_and_is_kept_on_the_approval_event(found, reviewer):
    bad, _, _ = found
    check = SpotCheck.objects.get(claim=bad)

    response = approve(
        reviewer, bad, reason="同意", spot_check_override_reason=f"  {OVERRIDE} "
    )

    assert response.status_code == 200
    assert response.json()["status"] == "approved"
    event = ClaimEvent.objects.get(claim=bad, action="approve")
    assert event.actor == reviewer
    assert event.changes == {
        "spot_check_override": {"spot_checks": [check.pk], "reason": OVERRIDE}
    }
    assert event.reason == f"同意；抽查材料不符仍予核准理由：{OVERRIDE}"
    # the trail still holds the finding itself
    assert ClaimEvent.objects.filter(
        claim=bad, action="spot_check", changes={"spot_check": "inconsistent"}
    ).exists()


def test_a_claim_found_consistent_needs_no_override_and_records_none(found, reviewer):
    _, good, _ = found

    response = approve(reviewer, good, spot_check_override_reason=OVERRIDE)

    assert response.status_code == 200
    event = ClaimEvent.objects.get(claim=good, action="approve")
    assert event.changes == {} and OVERRIDE not in event.reason


def test_the_bulk_approval_refuses_it_naming_the_claim(found, reviewer):
    bad, good, _ = found

    response = api(reviewer).post(
        "/api/claims/approve-bulk/", {"claims": [good.pk, bad.pk]}, format="json"
    )

    assert response.status_code == 409
    assert response.json()["code"] == "spot_check_inconsistent"
    assert response.json()["message"].startswith(f"申报#{bad.pk}：")
    assert not Claim.objects.filter(status="approved").exists()


def test_the_report_page_offers_no_checkbox_for_it(client, found, reviewer):
    bad, good, report = found

    client.force_login(reviewer)
    page = client.get(f"/reports/{report.pk}/").content.decode()

    assert f'data-testid="select-{good.pk}"' in page
    assert f'data-testid="select-{bad.pk}"' not in page


def test_a_recorded_result_is_not_recorded_again(found, reviewer):
    bad, _, _ = found
    check = SpotCheck.objects.get(claim=bad)

    response = api(reviewer).post(
        f"/api/spot-checks/{check.pk}/", {"result": "consistent"}, format="json"
    )

    assert response.status_code == 409
    assert response.json()["code"] == "spot_check_recorded"
    check.refresh_from_db()
    assert check.result == "inconsistent"


# --- The claim page ----------------------------------------------------------------
def test_the_claim_page_approves_only_with_the_override_field(client, found, reviewer):
    bad, _, _ = found
    client.force_login(reviewer)
    page = client.get(f"/claims/{bad.pk}/").content.decode()
    assert 'data-testid="approve"' in page
    assert 'name="spot_check_override_reason"' in page

    # an ordinary comment: refused, with the message, and nothing changes
    refused = client.post(
        f"/claims/{bad.pk}/review/", {"action": "approve", "reason": OVERRIDE}
    )
    assert refused.status_code == 409
    assert "材料不符" in refused.content.decode()
    assert Claim.objects.get(pk=bad.pk).status == "submitted"

    done = client.post(
        f"/claims/{bad.pk}/review/",
        {"action": "approve", "spot_check_override_reason": OVERRIDE},
    )
    assert done.status_code == 302
    assert Claim.objects.get(pk=bad.pk).status == "approved"


# --- The auditor's list -----------------------------------------------------------
def test_the_auditor_lists_approvals_that_overrode_an_inconsistent_spot_check(
    client, found, reviewer, auditor
):
    from quarters.selectors import spot_check_overrides

    bad, good, _ = found
    approve(reviewer, good)
    assert spot_check_overrides() == []

    approve(reviewer, bad, spot_check_override_reason=OVERRIDE)

    (listed,) = spot_check_overrides()
    assert (listed.claim_id, listed.reason, listed.actor_id) == (
        bad.pk,
        OVERRIDE,
        reviewer.pk,
    )
    assert listed.notes == [NOTE]
    client.force_login(auditor)
    page = client.get("/dashboards/anomalies/").content.decode()
    section = page.split('data-testid="anomaly-spot-check-overrides"', 1)[1]
    section = section.split("</section>", 1)[0]
    assert f'href="/claims/{bad.pk}/"' in section
    assert OVERRIDE in section and NOTE in section
    assert f'href="/claims/{good.pk}/"' not in section


def sampled_report(clerk: User, reviewer: User, claim_input: Any) -> Claim:
    """One claim, submitted in a report whose sample drew it."""
    draft = services.claim_create(data=claim_input(), actor=clerk)
    services.claim_submit(claim_id=draft.pk, actor=clerk)
    report = quarter_services.report_build(
        unit_id="654301", quarter="2020Q1", actor=clerk
    )
    report = quarter_services.report_submit(report_id=report.pk, actor=clerk)
    quarter_services.report_draw_spot_checks(
        report_id=report.pk, actor=reviewer, share=Decimal("1")
    )
    return Claim.objects.get(pk=draft.pk)


# --- A reason that says nothing -----------------------------------------------------
@pytest.mark.parametrize("override", ["0", "x", "……"])
def test_an_override_that_says_nothing_is_refused_as_input(found, reviewer, override):
    """The override is the reason an auditor reads later: "0" is not one. A 400 naming
    the field, not the 409 of a missing override, and nothing approved."""
    bad, _, _ = found

    response = approve(reviewer, bad, spot_check_override_reason=override)

    assert response.status_code == 400
    assert response.json()["code"] == "reason_required"
    assert "spot_check_override_reason" in response.json()["fields"]
    assert Claim.objects.get(pk=bad.pk).status == "submitted"
    with pytest.raises(services.DomainError, match="至少两个字"):
        quarter_services.claim_approve(
            claim_id=bad.pk, actor=reviewer, spot_check_reason=override
        )
    assert not ClaimEvent.objects.filter(claim=bad, action="approve").exists()


def test_an_inconsistent_finding_noted_with_nothing_is_refused(
    clerk: User, reviewer: User, claim_input: Callable[..., ClaimInput]
) -> None:
    check = SpotCheck.objects.get(claim=sampled_report(clerk, reviewer, claim_input))

    response = api(reviewer).post(
        f"/api/spot-checks/{check.pk}/",
        {"result": "inconsistent", "note": "0"},
        format="json",
    )

    assert response.status_code == 400, response.content
    assert response.json()["code"] == "reason_required"
    check.refresh_from_db()
    assert check.result == "pending"


# --- A check left behind by a returned claim --------------------------------------
def test_a_check_of_a_claim_returned_from_the_report_is_not_recorded(
    client, clerk, reviewer, claim_input
):
    """Returned to its clerk, the claim left the report (its documents may change, and
    it is sampled afresh if drawn in a later report): its pending check there was still
    recorded (200); now 409, and the report no longer counts it as waiting."""
    claim = sampled_report(clerk, reviewer, claim_input)
    check = SpotCheck.objects.get(claim=claim)
    quarter_services.claim_return(claim_id=claim.pk, actor=reviewer, reason=NOTE)

    response = api(reviewer).post(
        f"/api/spot-checks/{check.pk}/", {"result": "consistent"}, format="json"
    )

    assert response.status_code == 409
    assert response.json()["code"] == "not_in_report"
    assert "退回" in response.json()["message"]
    assert SpotCheck.objects.get(pk=check.pk).result == "pending"
    client.force_login(reviewer)
    page = client.get(f"/reports/{check.report_id}/").content.decode()
    assert "待核对" not in page
    assert "已退回，无需核对" in page
