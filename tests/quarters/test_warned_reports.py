"""The reviewer's report with a warned claim (issue 15, 6 and 8): the warning beside
the claim, a bulk approval that names the warned claims and asks for a confirmation
(server-side, page and API alike), and a decision from the report that goes back to
the report at the next claim to decide."""

from __future__ import annotations

from django.urls import reverse

import pytest
from rest_framework.test import APIClient

from claims import services
from claims.models import Claim
from quarters import services as quarter_services
from tests.factories import TraineeFactory, clear_spot_checks
from tests.quarters.test_report_views import html_of

pytestmark = pytest.mark.django_db


@pytest.fixture
def warned_report(clerk, reviewer, claim_input):
    """A submitted report of three claims of three people; the last carries the
    certificate number of the first: both are warned, the second is not."""
    first = services.claim_create(
        data=claim_input(trainee_id=TraineeFactory().pk, certificate_number="DUP-1"),
        actor=clerk,
    )
    services.claim_submit(claim_id=first.pk, actor=clerk)
    for n in range(2):
        draft = services.claim_create(
            data=claim_input(
                trainee_id=TraineeFactory().pk,
                certificate_number="DUP-1" if n == 1 else f"OWN-{n}",
            ),
            actor=clerk,
        )
        services.claim_submit(claim_id=draft.pk, actor=clerk)
    built = quarter_services.report_build(
        unit_id=clerk.unit_id, quarter="2020Q1", actor=clerk
    )
    report = quarter_services.report_submit(report_id=built.pk, actor=clerk)
    clear_spot_checks(report, reviewer)  # drawn before any approval
    claims = list(report.claims.order_by("pk"))
    return report, claims


def test_the_report_shows_the_warning_beside_the_claim(client, reviewer, warned_report):
    report, (first, plain, copied) = warned_report
    client.force_login(reviewer)
    html = html_of(client.get(reverse("report_detail", args=[report.pk])))
    assert f'data-testid="warned-{copied.pk}"' in html
    assert f'data-testid="warned-{first.pk}"' in html
    assert f'data-testid="warned-{plain.pk}"' not in html
    row = html.split(f'data-warnings-of="{copied.pk}"', 1)[1].split("</tr>", 1)[0]
    assert 'data-code="certificate_reused"' in row
    assert f'href="/claims/{first.pk}/"' in row


def test_bulk_approval_of_a_warned_selection_asks_naming_them(
    client, reviewer, warned_report
):
    report, claims = warned_report
    url = reverse("report_approve_bulk", args=[report.pk])
    client.force_login(reviewer)
    # when the reviewer approves everything pending
    response = client.post(url, {"select": "all"})
    # then nothing is approved; the page lists the warned claims to confirm
    assert response.status_code == 409
    assert set(
        Claim.objects.filter(report=report).values_list("status", flat=True)
    ) == {"submitted"}
    html = html_of(response)
    panel = html.split('data-testid="confirm-warnings"', 1)[1].split("</form>", 1)[0]
    warned = {claims[0].pk, claims[2].pk}
    for pk in warned:
        assert f'data-claim="{pk}"' in panel
        assert f'name="warnings_confirmed" value="{pk}"' in panel
    assert f'data-claim="{claims[1].pk}"' not in panel
    # and confirming sends the same selection again, which is approved
    confirmed = client.post(
        url,
        {
            "claims": [c.pk for c in claims],
            "warnings_confirmed": sorted(warned),
        },
    )
    assert confirmed.status_code == 302
    assert set(
        Claim.objects.filter(report=report).values_list("status", flat=True)
    ) == {"approved"}


def test_a_partial_confirmation_approves_nothing(client, reviewer, warned_report):
    report, claims = warned_report
    client.force_login(reviewer)
    response = client.post(
        reverse("report_approve_bulk", args=[report.pk]),
        {"claims": [c.pk for c in claims], "warnings_confirmed": [claims[0].pk]},
    )
    assert response.status_code == 409
    assert f"申报#{claims[2].pk}" in html_of(response)
    assert not Claim.objects.filter(status="approved").exists()


def test_a_selection_without_warnings_needs_no_confirmation(
    client, reviewer, warned_report
):
    report, (_, plain, _) = warned_report
    client.force_login(reviewer)
    response = client.post(
        reverse("report_approve_bulk", args=[report.pk]), {"claims": [plain.pk]}
    )
    assert response.status_code == 302
    plain.refresh_from_db()
    assert plain.status == "approved"


def test_the_api_answers_the_warned_claims_and_approves_once_confirmed(
    reviewer, warned_report
):
    _report, claims = warned_report
    api = APIClient()
    api.force_authenticate(reviewer)
    ids = [c.pk for c in claims]
    refused = api.post("/api/claims/approve-bulk/", {"claims": ids}, format="json")
    assert refused.status_code == 409
    body = refused.json()
    assert body["code"] == "warnings_unconfirmed"
    assert [entry["claim"] for entry in body["detail"]] == [claims[0].pk, claims[2].pk]
    assert body["detail"][1]["warnings"][0]["code"] == "certificate_reused"
    assert body["detail"][1]["warnings"][0]["claims"] == [claims[0].pk]
    approved = api.post(
        "/api/claims/approve-bulk/",
        {"claims": ids, "warnings_confirmed": [claims[0].pk, claims[2].pk]},
        format="json",
    )
    assert approved.status_code == 200, approved.content
    assert {c["status"] for c in approved.json()} == {"approved"}


@pytest.mark.parametrize("action", ["approve", "reject", "return"])
def test_a_decision_goes_back_to_the_report_at_the_next_claim(
    client, reviewer, warned_report, action
):
    report, (_first, second, third) = warned_report
    client.force_login(reviewer)
    response = client.post(
        reverse("claim_review", args=[second.pk]),
        {"action": action, "reason": "理由" if action != "approve" else ""},
    )
    assert response.status_code == 302
    assert response["Location"] == (
        reverse("report_detail", args=[report.pk]) + f"#claim-{third.pk}"
    )


def test_after_the_last_claim_it_goes_round_to_the_first_then_to_the_list(
    client, reviewer, warned_report
):
    report, (first, second, third) = warned_report
    client.force_login(reviewer)
    to_report = reverse("report_detail", args=[report.pk])
    review = reverse("claim_review", args=[third.pk])
    response = client.post(review, {"action": "reject", "reason": "证书重复"})
    assert response["Location"] == f"{to_report}#claim-{first.pk}"
    for claim in (first, second):
        response = client.post(
            reverse("claim_review", args=[claim.pk]), {"action": "approve"}
        )
    assert response["Location"] == f"{to_report}#claims"


def test_reject_and_return_ask_for_the_reason_before_the_dialog(
    client, reviewer, warned_report
):
    _report, (first, _, _) = warned_report
    client.force_login(reviewer)
    html = html_of(client.get(reverse("claim_detail", args=[first.pk])))
    for action in ("reject", "return"):
        button = html.split(f'data-testid="{action}"', 1)[1].split(">", 1)[0]
        assert 'data-requires="review-reason"' in button


def test_a_malformed_confirmation_is_no_confirmation(client, reviewer, warned_report):
    report, claims = warned_report
    client.force_login(reviewer)
    response = client.post(
        reverse("report_approve_bulk", args=[report.pk]),
        {
            "claims": [c.pk for c in claims],
            "warnings_confirmed": ["²", "x", "9" * 40, str(claims[0].pk)],
        },
    )
    assert response.status_code == 409
    assert not Claim.objects.filter(status="approved").exists()
